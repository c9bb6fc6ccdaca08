import type { EmployeeRecord } from './employee.js';

/** Per-target policy for the parts of the lifecycle companies decide differently. */
export interface LifecyclePolicy {
  /** Days before startDate the account is created (so a joiner can log in on day one). */
  preStartDays: number;
  /** Whether an employee on leave keeps an active account. */
  leave: 'active' | 'inactive';
  /** Whether a deactivated account is deleted after graceDays; many targets make deletion irreversible. */
  delete: 'never' | 'after-grace';
  graceDays: number;
}

export type DesiredState = 'none' | 'active' | 'inactive' | 'deleted';

export interface LifecycleDecision {
  desired: DesiredState;
  reason: string;
  /** When the decision changes by itself (start date, end date, end of grace), as Unix ms. */
  nextCheckAt: number | null;
}

const DAY_MS = 86_400_000;

/** Dates are calendar days in UTC: an effective date takes effect at 00:00 UTC that day. */
export function dayStart(isoDate: string): number {
  return Date.parse(`${isoDate}T00:00:00Z`);
}

export function isoDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/**
 * The desired account state from the HR record, the target policy and the time. Pure.
 * `inactiveSince` is when the account was last deactivated at this target (for the grace period).
 */
export function decideLifecycle(
  record: EmployeeRecord,
  policy: LifecyclePolicy,
  now: number,
  inactiveSince: number | null,
  hasAccount: boolean,
): LifecycleDecision {
  // An end date before the (re)hire date closed an earlier employment, unless HR says this one ended too.
  const staleEnd = record.status !== 'terminated' && record.endDate && record.startDate && record.endDate < record.startDate;
  const endAt = record.endDate && !staleEnd ? dayStart(record.endDate) : null;
  const startAt = record.startDate ? dayStart(record.startDate) - policy.preStartDays * DAY_MS : null;
  const future = (t: number | null) => (t !== null && t > now ? t : null);

  const ended = record.status === 'terminated' ? endAt === null || now >= endAt : endAt !== null && now >= endAt;
  if (ended) {
    if (!hasAccount) return { desired: 'none', reason: 'left before an account was needed', nextCheckAt: null };
    if (policy.delete === 'after-grace') {
      const deleteAt = (inactiveSince ?? now) + policy.graceDays * DAY_MS;
      if (now >= deleteAt) return { desired: 'deleted', reason: `inactive for ${policy.graceDays} days`, nextCheckAt: null };
      return { desired: 'inactive', reason: 'terminated', nextCheckAt: deleteAt };
    }
    return { desired: 'inactive', reason: 'terminated', nextCheckAt: null };
  }

  if (record.status === 'pending') {
    if (startAt === null) return { desired: hasAccount ? 'inactive' : 'none', reason: 'pending without a start date', nextCheckAt: null };
    if (now < startAt) return { desired: hasAccount ? 'inactive' : 'none', reason: 'start date not reached', nextCheckAt: startAt };
    return { desired: 'active', reason: 'start date reached', nextCheckAt: future(endAt) };
  }

  if (record.status === 'leave' && policy.leave === 'inactive') {
    return { desired: hasAccount ? 'inactive' : 'none', reason: 'on leave', nextCheckAt: future(endAt) };
  }
  return { desired: 'active', reason: record.status === 'leave' ? 'on leave, account kept' : 'active', nextCheckAt: future(endAt) };
}
