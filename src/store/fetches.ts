import type { Kysely } from 'kysely';
import type { Dialect } from './migrations.js';
import type { Database } from './schema.js';
import type { FetchJob } from './store.js';

/**
 * The fetches a worker may start now, oldest request first. A source that sends only ids (BambooHR)
 * queues one fetch per employee, and a bulk change queues thousands, which a claim on every worker
 * round must not sort: SQLite, which keeps no statistics here, reads them in the order of fetches_due;
 * PostgreSQL's planner has the same index to choose.
 */
export function dueFetchesQuery(db: Kysely<Database>, now: number, limit: number) {
  return db.selectFrom('fetches').selectAll().where('next_attempt_at', '<=', now).where('lease_until', '<', now).orderBy('requested_at').limit(limit);
}

/**
 * Whether any fetch is due, read outside a write transaction. Most deployments never queue a fetch,
 * and a claim that finds nothing would still cost every worker round a write transaction of its own
 * (and on SQLite a WAL sync) before the pairs are claimed.
 */
export async function anyFetchDue(db: Kysely<Database>, now: number): Promise<boolean> {
  return (await dueFetchesQuery(db, now, 1).executeTakeFirst()) !== undefined;
}

/** Claims due fetches: one read, then one statement that leases those still free. */
export async function claimDueFetches(trx: Kysely<Database>, dialect: Dialect, now: number, leaseMs: number, limit: number): Promise<FetchJob[]> {
  const due = dueFetchesQuery(trx, now, limit);
  // The claim shares a transaction with other writes: rows another replica is writing are passed
  // over, not waited for.
  const rows = await (dialect === 'postgres' ? due.forUpdate().skipLocked() : due).execute();
  if (rows.length === 0) return [];
  const won = await trx
    .updateTable('fetches')
    .set({ lease_until: now + leaseMs })
    .where(({ eb, refTuple, tuple }) => eb(refTuple('source', 'employee_id'), 'in', rows.map((r) => tuple(r.source, r.employee_id))))
    .where('lease_until', '<', now)
    .returning(['source', 'employee_id'])
    .execute();
  const leased = new Set(won.map(fetchKey));
  return rows
    .filter((r) => leased.has(fetchKey(r)))
    .map((r) => ({ source: r.source, employeeId: r.employee_id, requestedAt: Number(r.requested_at), attempts: r.attempts, correlationId: r.correlation_id }));
}

const fetchKey = (r: { source: string; employee_id: string }) => `${r.source}\u0000${r.employee_id}`;
