import { describe, expect, it } from 'vitest';
import type { EmployeeRecord } from './employee.js';
import { dayStart, decideLifecycle, type LifecyclePolicy } from './lifecycle.js';

const policy: LifecyclePolicy = { preStartDays: 0, leave: 'active', delete: 'never', graceDays: 30 };
const now = dayStart('2026-12-04') + 10 * 3600_000;
const rec = (over: Partial<EmployeeRecord>): EmployeeRecord => ({ id: 'E', status: 'active', ...over });
const DAY = 86_400_000;

describe('lifecycle', () => {
  it('active employees get an active account', () => {
    expect(decideLifecycle(rec({}), policy, now, null, false)).toEqual({ desired: 'active', reason: 'active', nextCheckAt: null });
  });

  it('a pending hire gets no account until the start date minus pre-start days', () => {
    const r = rec({ status: 'pending', startDate: '2026-12-10' });
    expect(decideLifecycle(r, policy, now, null, false)).toMatchObject({ desired: 'none', nextCheckAt: dayStart('2026-12-10') });
    expect(decideLifecycle(r, { ...policy, preStartDays: 7 }, now, null, false)).toMatchObject({ desired: 'active' });
    expect(decideLifecycle(r, policy, dayStart('2026-12-10'), null, false)).toMatchObject({ desired: 'active' });
  });

  it('a termination dated tomorrow deactivates tomorrow, not before', () => {
    const r = rec({ status: 'terminated', endDate: '2026-12-05' });
    expect(decideLifecycle(r, policy, now, null, true)).toEqual({ desired: 'active', reason: 'active', nextCheckAt: dayStart('2026-12-05') });
    expect(decideLifecycle(r, policy, dayStart('2026-12-05'), null, true)).toMatchObject({ desired: 'inactive' });
  });

  it('an endDate reached deactivates even while HR still says active', () => {
    expect(decideLifecycle(rec({ endDate: '2026-12-01' }), policy, now, null, true)).toMatchObject({ desired: 'inactive' });
  });

  it('a leaver who never had an account gets none', () => {
    expect(decideLifecycle(rec({ status: 'terminated' }), policy, now, null, false)).toMatchObject({ desired: 'none' });
  });

  it('leave follows the target policy', () => {
    expect(decideLifecycle(rec({ status: 'leave' }), policy, now, null, true).desired).toBe('active');
    expect(decideLifecycle(rec({ status: 'leave' }), { ...policy, leave: 'inactive' }, now, null, true).desired).toBe('inactive');
  });

  it('deletes only where the policy says so, after the grace days', () => {
    const r = rec({ status: 'terminated' });
    const p = { ...policy, delete: 'after-grace' as const, graceDays: 10 };
    expect(decideLifecycle(r, p, now, now - 3 * DAY, true)).toEqual({ desired: 'inactive', reason: 'terminated', nextCheckAt: now + 7 * DAY });
    expect(decideLifecycle(r, p, now, now - 10 * DAY, true).desired).toBe('deleted');
    expect(decideLifecycle(r, policy, now, now - 1000 * DAY, true).desired).toBe('inactive');
  });

  it('a rehire keeps the account active even when HR still carries the end date of the earlier employment', () => {
    expect(decideLifecycle(rec({ status: 'active', startDate: '2026-01-05', endDate: '2025-06-30' }), policy, now, now - DAY, true).desired).toBe('active');
    expect(decideLifecycle(rec({ status: 'terminated', startDate: '2026-01-05', endDate: '2025-06-30' }), policy, now, null, true).desired).toBe('inactive');
  });

  it('a rehire is active again', () => {
    expect(decideLifecycle(rec({ status: 'active', endDate: null }), policy, now, now - DAY, true).desired).toBe('active');
  });
});
