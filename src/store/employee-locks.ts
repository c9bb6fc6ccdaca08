import { sql, type Kysely } from 'kysely';
import type { Dialect } from './migrations.js';
import type { Database } from './schema.js';
import type { IntakeInput } from './store.js';

/** Advisory-lock namespace of per-employee locks (the audit chain's lock is a single key). */
const EMPLOYEE_LOCK_CLASS = 7203312;

/** The employees a set of deliveries may write. */
export function employeesNamed(inputs: readonly IntakeInput[]): Set<string> {
  const ids = new Set<string>();
  for (const { intake } of inputs) {
    if (intake.kind === 'records') intake.records.forEach((r) => ids.add(r.id));
    else if (intake.kind !== 'ignore') intake.employeeIds.forEach((id) => ids.add(id));
  }
  return ids;
}

/**
 * On PostgreSQL, every transaction that writes an employee's record first takes that employee's lock,
 * held to its commit, so what it read of the employee stays true until it writes (an intake batch
 * writes all its records at the end). Locks are taken in one global order: replicas committing batches
 * that name the same employees queue instead of deadlocking on each other's rows. SQLite has one
 * writer and needs none.
 */
export async function lockEmployees(trx: Kysely<Database>, dialect: Dialect, ids: ReadonlySet<string>): Promise<void> {
  if (dialect !== 'postgres' || ids.size === 0) return;
  await sql`select pg_advisory_xact_lock(${EMPLOYEE_LOCK_CLASS}, k) from (select distinct hashtext(id) as k from unnest(${[...ids]}::text[]) as id order by k) as keys`.execute(trx);
}
