import { sql, type Kysely } from 'kysely';
import type { EmployeeRecord } from '../domain/employee.js';
import { verifyAuditChain, type AuditEntry } from './audit.js';
import { applyRecord, getRecord, parseStoredRecord } from './employees.js';
import { anyFetchDue, claimDueFetches } from './fetches.js';
import { applyIntake } from './intake.js';
import { FAILED, dirtyByTargetQuery, failedByTargetQuery, oldestDirtyQuery } from './pair-gauges.js';
import type { Dialect } from './migrations.js';
import { claimCandidates, completeLeasedPair, leasePairs, markDirty, pairKey, renewLeasesQuery } from './pairs.js';
import { rowChunks } from './row-chunks.js';
import type { Database, PairsTable } from './schema.js';
import type { CommitSync } from './wal-sync.js';
import { Transactions, type AuditListener } from './transactions.js';
import type {
  AccountState,
  ClaimedPair,
  FetchJob,
  IntakeInput,
  IntakeResult,
  PairRef,
  PairResult,
  PairStatus,
  RejectedDelivery,
  Store,
  StoreStats,
} from './store.js';

/** Changed records after which PostgreSQL's planner statistics are refreshed (see intake). */
const ANALYZE_EVERY = 2_000;

export class KyselyStore implements Store {
  private readonly writes: Transactions;
  private newSinceAnalyze = 0;
  private analyzing = false;

  constructor(
    readonly db: Kysely<Database>,
    readonly dialect: Dialect,
    onAudit: AuditListener = () => {},
    private readonly wal?: CommitSync,
  ) {
    this.writes = new Transactions(db, dialect, onAudit, wal);
  }

  /**
   * Deliveries that arrive while a commit is in flight are committed together in the next one: one
   * fsync for many webhooks under load, and still no 202 before its own delivery is durable.
   */
  async intake(input: IntakeInput): Promise<IntakeResult> {
    const { changed, ...result } = await this.writes.grouped((trx, audit, batch) => applyIntake(trx, input, audit, batch), { intake: input });
    if (this.dialect === 'postgres' && changed > 0) this.refreshStatistics(changed);
    return result;
  }

  /**
   * An initial load fills empty tables faster than autovacuum analyses them, and without statistics
   * PostgreSQL plans each claim as a sort of every dirty pair (13 ms instead of 0.4 ms at 10,000). The
   * tables are small; analysing them after every few thousand changed records keeps the plans right.
   * Unchanged records (a resync) leave the tables as they were and are not counted. Only the columns
   * claims, backfills and status reports filter, join and sort on are analysed: statistics of the JSON
   * columns cost half of each ANALYZE (129 ms on average with 50,000 employees, 63 ms without them)
   * and no plan uses them.
   */
  private refreshStatistics(changed: number): void {
    this.newSinceAnalyze += changed;
    if (this.newSinceAnalyze < ANALYZE_EVERY || this.analyzing) return;
    this.newSinceAnalyze = 0;
    this.analyzing = true;
    void sql`analyze pairs (target, employee_id, dirty, dirty_since, next_check_at, next_attempt_at, lease_until, lease_owner, status), employees (employee_id, manager_id)`
      .execute(this.db)
      .catch(() => undefined)
      .finally(() => {
        this.analyzing = false;
      });
  }

  async rejectDelivery(input: RejectedDelivery): Promise<void> {
    await this.writes.grouped(async (trx, audit) => {
      await trx
        .insertInto('deliveries')
        .values({
          source: input.source,
          // A rejected delivery never blocks a later, valid delivery with the same id.
          delivery_id: null,
          received_at: input.receivedAt,
          event_type: null,
          outcome: 'rejected',
          error: `${input.code}: ${input.reason}`,
          body: input.body,
          correlation_id: input.correlationId,
        })
        .execute();
      audit.push({
        at: input.receivedAt,
        correlationId: input.correlationId,
        action: 'delivery.rejected',
        outcome: 'failure',
        source: input.source,
        details: { code: input.code, reason: input.reason, deliveryId: input.deliveryId },
      });
    });
  }

  async claimFetches(_owner: string, now: number, leaseMs: number, limit: number): Promise<FetchJob[]> {
    if (!(await anyFetchDue(this.db, now))) return [];
    return this.writes.grouped((trx) => claimDueFetches(trx, this.dialect, now, leaseMs, limit));
  }

  async completeFetch(job: FetchJob, record: EmployeeRecord | null, now: number, targets: readonly string[]): Promise<void> {
    await this.writes.grouped(async (trx, audit, batch) => {
      // A webhook that arrived during the fetch moved requested_at: fetch once more rather than lose it.
      const res = await trx
        .deleteFrom('fetches')
        .where('source', '=', job.source)
        .where('employee_id', '=', job.employeeId)
        .where('requested_at', '=', job.requestedAt)
        .executeTakeFirst();
      if (Number(res.numDeletedRows) === 0) {
        await trx.updateTable('fetches').set({ lease_until: 0 }).where('source', '=', job.source).where('employee_id', '=', job.employeeId).execute();
      }
      const base = { at: now, correlationId: job.correlationId, source: job.source, employeeId: job.employeeId };
      let effective = record;
      if (!effective) {
        const stored = await getRecord(trx, job.employeeId, batch);
        if (!stored) {
          audit.push({ ...base, action: 'record.fetched', outcome: 'ignored', details: { reason: 'employee not found at the source and never stored' } });
          return;
        }
        effective = { ...stored, status: 'terminated', version: null, sourceTimestamp: new Date(now).toISOString() };
      }
      const { outcome } = await applyRecord(trx, job.source, effective, now, batch);
      audit.push({ ...base, action: 'record.fetched', outcome: outcome === 'older' ? 'ignored' : 'success', details: { result: outcome, found: record !== null, status: effective.status } });
      // Through the batch, so the pairs are marked after the batch has written the record they will read.
      if (outcome === 'applied') batch.markDirty(targets, job.employeeId, now, job.correlationId);
    }, { employees: [job.employeeId] });
  }

  async failFetch(job: FetchJob, error: string, nextAttemptAt: number, now: number): Promise<void> {
    await this.writes.grouped(async (trx, audit) => {
      await trx
        .updateTable('fetches')
        .set({ attempts: job.attempts + 1, next_attempt_at: nextAttemptAt, lease_until: 0, last_error: error })
        .where('source', '=', job.source)
        .where('employee_id', '=', job.employeeId)
        .execute();
      audit.push({ at: now, correlationId: job.correlationId, action: 'record.fetch_failed', outcome: 'failure', source: job.source, employeeId: job.employeeId, details: { error, attempt: job.attempts + 1 } });
    });
  }

  async claimPairs(owner: string, now: number, leaseMs: number, limit: number, excluded: readonly string[]): Promise<ClaimedPair[]> {
    return this.writes.grouped(async (trx) => {
      const rows = await claimCandidates(trx, this.dialect, now, limit, excluded);
      const won = await leasePairs(trx, rows, owner, now, leaseMs);
      const claimed: ClaimedPair[] = [];
      for (const r of rows) {
        if (!won.has(pairKey(r.target, r.employee_id))) continue;
        claimed.push({
          target: r.target,
          employeeId: r.employee_id,
          generation: Number(r.generation),
          attempts: r.attempts,
          correlationId: r.correlation_id,
          scimId: r.scim_id,
          appliedHash: r.lease_owner === null ? r.applied_hash : null,
          appliedUser: r.applied_user ? (JSON.parse(r.applied_user) as Record<string, unknown>) : null,
          appliedGroups: r.applied_groups ? (JSON.parse(r.applied_groups) as string[]) : [],
          intendedGroups: r.intended_groups ? (JSON.parse(r.intended_groups) as string[]) : [],
          state: r.state as AccountState,
          inactiveSince: r.inactive_since === null ? null : Number(r.inactive_since),
          record: r.record ? parseStoredRecord(r.record) : null,
        });
      }
      return claimed;
    });
  }

  async completePair(owner: string, pair: ClaimedPair, result: PairResult, audit: readonly AuditEntry[], now: number): Promise<void> {
    await this.writes.grouped(async (trx, rows) => {
      rows.push(...audit);
      const cid = pair.correlationId ?? 'backfill';
      const { updated, reports } = await completeLeasedPair(trx, this.dialect, owner, pair, result, now, cid);
      // A sync that lost its lease keeps its evidence (its requests did happen) but decides nothing more.
      if (updated === 0) {
        rows.push({ at: now, correlationId: pair.correlationId ?? 'scheduled', action: 'sync.superseded', outcome: 'ignored', target: pair.target, employeeId: pair.employeeId, details: { reason: 'the lease had passed to another worker' } });
        return;
      }
      if (reports > 0) {
        rows.push({ at: now, correlationId: cid, action: 'manager.backfill', outcome: 'success', target: pair.target, employeeId: pair.employeeId, details: { reports } });
      }
    });
  }

  async releaseLeases(owner: string): Promise<void> {
    // Pairs still leased here are syncs cut short by shutdown: their outcome at the target is unknown.
    await this.writes.grouped(async (trx) => {
      await trx.updateTable('pairs').set({ lease_owner: null, lease_until: 0, applied_hash: null }).where('lease_owner', '=', owner).execute();
    });
  }

  async renewLeases(owner: string, pairs: readonly PairRef[], now: number, leaseMs: number): Promise<number> {
    if (pairs.length === 0) return 0;
    return this.writes.grouped(async (trx) => {
      // An expired lease may already belong to another replica: only live ones are extended.
      let renewed = 0;
      for (const part of rowChunks(pairs, this.dialect)) {
        const res = await renewLeasesQuery(trx, part, owner, now, leaseMs).executeTakeFirst();
        renewed += Number(res.numUpdatedRows);
      }
      return renewed;
    });
  }

  async recordIntendedGroups(owner: string, target: string, employeeId: string, groups: readonly string[]): Promise<void> {
    await this.writes.grouped(async (trx) => {
      await trx
        .updateTable('pairs')
        .set({ intended_groups: JSON.stringify(groups) })
        .where('target', '=', target)
        .where('employee_id', '=', employeeId)
        .where('lease_owner', '=', owner)
        .execute();
    });
  }

  async scimIdOf(target: string, employeeId: string): Promise<string | null> {
    const row = await this.db.selectFrom('pairs').select('scim_id').where('target', '=', target).where('employee_id', '=', employeeId).executeTakeFirst();
    return row?.scim_id ?? null;
  }

  async groupId(target: string, displayName: string): Promise<string | null> {
    const row = await this.db.selectFrom('groups').select('scim_id').where('target', '=', target).where('display_name', '=', displayName).executeTakeFirst();
    return row?.scim_id ?? null;
  }

  async saveGroupId(target: string, displayName: string, scimId: string): Promise<string> {
    return this.writes.grouped(async (trx) => {
      // The first id recorded wins, so replicas that raced to create one group all use the same one.
      // One statement: a record forgotten between an insert and a read could not leave an unrecorded id.
      const row = await trx
        .insertInto('groups')
        .values({ target, display_name: displayName, scim_id: scimId })
        .onConflict((oc) => oc.columns(['target', 'display_name']).doUpdateSet((eb) => ({ scim_id: eb.ref('groups.scim_id') })))
        .returning('scim_id')
        .executeTakeFirstOrThrow();
      return row.scim_id;
    });
  }

  async forgetGroupId(target: string, displayName: string, scimId: string): Promise<void> {
    await this.writes.grouped(async (trx) => {
      // Another replica may already have recorded the group's new id: that one stays.
      await trx.deleteFrom('groups').where('target', '=', target).where('display_name', '=', displayName).where('scim_id', '=', scimId).execute();
    });
  }

  async pausedTargets(): Promise<Array<{ name: string; reason: string; fingerprint: string | null }>> {
    const rows = await this.db.selectFrom('targets').selectAll().where('paused_reason', 'is not', null).execute();
    return rows.map((r) => ({ name: r.name, reason: r.paused_reason ?? '', fingerprint: r.paused_fingerprint }));
  }

  async pauseTarget(name: string, reason: string, fingerprint: string | null, now: number, audit: AuditEntry): Promise<void> {
    await this.writes.tx(async (trx, rows) => {
      await trx
        .insertInto('targets')
        .values({ name, paused_reason: reason, paused_at: now, paused_fingerprint: fingerprint })
        .onConflict((oc) => oc.column('name').doUpdateSet({ paused_reason: reason, paused_at: now, paused_fingerprint: fingerprint }))
        .execute();
      rows.push(audit);
    });
  }

  async resumeTarget(name: string, audit: AuditEntry): Promise<void> {
    await this.writes.tx(async (trx, rows) => {
      await trx.updateTable('targets').set({ paused_reason: null, paused_at: null, paused_fingerprint: null }).where('name', '=', name).execute();
      rows.push(audit);
    });
  }

  async requeue(employeeId: string | null, targets: readonly string[], now: number, correlationId: string): Promise<number> {
    return this.writes.tx(async (trx, audit) => {
      const ids = employeeId
        ? [employeeId]
        : (await trx.selectFrom('employees').select('employee_id').execute()).map((r) => r.employee_id);
      for (const id of ids) await markDirty(trx, this.dialect, targets, id, now, correlationId);
      audit.push({ at: now, correlationId, action: 'pairs.requeued', outcome: 'success', employeeId, details: { employees: ids.length } });
      return ids.length;
    });
  }

  async employeeStatus(employeeId: string): Promise<{ record: EmployeeRecord | null; pairs: PairStatus[] }> {
    const record = await getRecord(this.db, employeeId);
    const rows = await this.db.selectFrom('pairs').selectAll().where('employee_id', '=', employeeId).orderBy('target').execute();
    return { record, pairs: rows.map(toPairStatus) };
  }

  async failedPairs(limit: number): Promise<Array<PairStatus & { employeeId: string }>> {
    const rows = await this.db.selectFrom('pairs').selectAll().where('status', '=', FAILED).orderBy('updated_at', 'desc').limit(limit).execute();
    return rows.map((r) => ({ ...toPairStatus(r), employeeId: r.employee_id }));
  }

  async appendAudit(entries: readonly AuditEntry[]): Promise<void> {
    await this.writes.grouped(async (_trx, rows) => {
      rows.push(...entries);
    });
  }

  verifyAudit() {
    return verifyAuditChain(this.db);
  }

  async stats(): Promise<StoreStats> {
    const dirty = await dirtyByTargetQuery(this.db).execute();
    const failed = await failedByTargetQuery(this.db).execute();
    const oldest = await oldestDirtyQuery(this.db).executeTakeFirst();
    return {
      dirtyByTarget: Object.fromEntries(dirty.map((d) => [d.target, Number(d.n)])),
      failedByTarget: Object.fromEntries(failed.map((d) => [d.target, Number(d.n)])),
      oldestDirtySince: oldest?.dirty_since == null ? null : Number(oldest.dirty_since),
    };
  }

  async ping(): Promise<void> {
    this.wal?.check();
    await sql`select 1`.execute(this.db);
  }

  async close(): Promise<void> {
    await this.writes.idle();
    await this.wal?.close();
    await this.db.destroy();
  }
}

function toPairStatus(r: PairsTable): PairStatus {
  return {
    target: r.target,
    scimId: r.scim_id,
    state: r.state,
    status: r.status,
    dirty: r.dirty === 1,
    lastError: r.last_error,
    attempts: r.attempts,
    nextCheckAt: r.next_check_at === null ? null : Number(r.next_check_at),
    updatedAt: Number(r.updated_at),
  };
}
