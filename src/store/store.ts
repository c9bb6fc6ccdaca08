import type { EmployeeRecord } from '../domain/employee.js';
import type { Intake } from '../hris/source.js';
import type { ScimJson } from '../mapping/types.js';
import type { AuditEntry, AuditVerification } from './audit.js';

export type { AuditEntry, AuditVerification } from './audit.js';

export interface IntakeInput {
  source: string;
  deliveryId: string;
  eventType: string;
  receivedAt: number;
  correlationId: string;
  intake: Intake;
  /** The configured targets: every employee has one pair per target. */
  targets: readonly string[];
}

export interface IntakeResult {
  duplicate: boolean;
  applied: number;
  ignored: number;
}

export interface RejectedDelivery {
  source: string;
  deliveryId: string | null;
  receivedAt: number;
  correlationId: string;
  code: string;
  reason: string;
  /** The raw body, kept for inspection (signature-verified bodies only; forged ones are not kept). */
  body: string | null;
}

export type AccountState = 'none' | 'active' | 'inactive' | 'deleted';

/** A (target, employee) pair by its key. */
export interface PairRef {
  target: string;
  employeeId: string;
}

export interface ClaimedPair extends PairRef {
  generation: number;
  attempts: number;
  correlationId: string | null;
  scimId: string | null;
  appliedHash: string | null;
  appliedUser: ScimJson | null;
  appliedGroups: string[];
  /** Groups a sync set out to join without confirming it; the member may or may not be in them. */
  intendedGroups: string[];
  state: AccountState;
  inactiveSince: number | null;
  record: EmployeeRecord | null;
}

export interface PairApplied {
  scimId: string | null;
  appliedHash: string | null;
  appliedUser: ScimJson | null;
  appliedGroups: string[];
  state: AccountState;
  inactiveSince: number | null;
  nextCheckAt: number | null;
}

export type PairResult =
  | ({ kind: 'ok' } & PairApplied)
  | { kind: 'retry'; error: string; nextAttemptAt: number; partial?: PairApplied }
  | { kind: 'failed'; error: string; partial?: PairApplied }
  | { kind: 'released' };

export interface FetchJob {
  source: string;
  employeeId: string;
  requestedAt: number;
  attempts: number;
  correlationId: string;
}

export interface StoreStats {
  dirtyByTarget: Record<string, number>;
  failedByTarget: Record<string, number>;
  oldestDirtySince: number | null;
}

export interface PairStatus {
  target: string;
  scimId: string | null;
  state: string;
  status: string;
  dirty: boolean;
  lastError: string | null;
  attempts: number;
  nextCheckAt: number | null;
  updatedAt: number;
}

/**
 * Everything the bridge keeps. One implementation over Kysely serves SQLite and PostgreSQL; callers
 * never see the dialect.
 */
export interface Store {
  readonly dialect: 'sqlite' | 'postgres';
  /** One transaction: the delivery (deduplicated), records if newer, dirty pairs, audit rows. */
  intake(input: IntakeInput): Promise<IntakeResult>;
  rejectDelivery(input: RejectedDelivery): Promise<void>;

  claimFetches(owner: string, now: number, leaseMs: number, limit: number): Promise<FetchJob[]>;
  completeFetch(job: FetchJob, record: EmployeeRecord | null, now: number, targets: readonly string[]): Promise<void>;
  failFetch(job: FetchJob, error: string, nextAttemptAt: number, now: number): Promise<void>;

  claimPairs(owner: string, now: number, leaseMs: number, limit: number, excludedTargets: readonly string[]): Promise<ClaimedPair[]>;
  completePair(owner: string, pair: ClaimedPair, result: PairResult, audit: readonly AuditEntry[], now: number): Promise<void>;
  releaseLeases(owner: string): Promise<void>;
  /** Extends the unexpired leases of `owner` on `pairs` to now + leaseMs, so a slow sync keeps its pair. */
  renewLeases(owner: string, pairs: readonly PairRef[], now: number, leaseMs: number): Promise<number>;
  /** Durably notes the groups a sync is about to join, before it asks the target. */
  recordIntendedGroups(owner: string, target: string, employeeId: string, groups: readonly string[]): Promise<void>;
  scimIdOf(target: string, employeeId: string): Promise<string | null>;
  /** The SCIM ids of a group's members that the bridge manages, by target and display name. */
  groupId(target: string, displayName: string): Promise<string | null>;
  /** Records a group's id unless another replica recorded one first; answers the id on record. */
  saveGroupId(target: string, displayName: string, scimId: string): Promise<string>;
  /** Forgets the group's id if it is still `scimId` (the one the target no longer knows). */
  forgetGroupId(target: string, displayName: string, scimId: string): Promise<void>;

  pausedTargets(): Promise<Array<{ name: string; reason: string; fingerprint: string | null }>>;
  pauseTarget(name: string, reason: string, fingerprint: string | null, now: number, audit: AuditEntry): Promise<void>;
  resumeTarget(name: string, audit: AuditEntry): Promise<void>;

  /** Marks pairs dirty again: one employee, or every employee (a full reconcile). */
  requeue(employeeId: string | null, targets: readonly string[], now: number, correlationId: string): Promise<number>;
  employeeStatus(employeeId: string): Promise<{ record: EmployeeRecord | null; pairs: PairStatus[] }>;
  failedPairs(limit: number): Promise<Array<PairStatus & { employeeId: string }>>;

  appendAudit(entries: readonly AuditEntry[]): Promise<void>;
  verifyAudit(): Promise<AuditVerification>;
  stats(): Promise<StoreStats>;
  /** Readiness: the store answers and accepts writes. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
