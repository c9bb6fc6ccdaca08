import { sql, type Kysely } from 'kysely';
import type { Database } from './schema.js';

/**
 * Marks the employee's pair at every target dirty. `generation` lets a sync that was already running
 * notice on completion that a newer change arrived, so that change is not lost.
 */
export async function markDirty(
  trx: Kysely<Database>,
  targets: readonly string[],
  employeeId: string,
  now: number,
  correlationId: string,
): Promise<void> {
  if (targets.length === 0) return;
  await trx
    .insertInto('pairs')
    .values(
      targets.map((target) => ({
        target,
        employee_id: employeeId,
        dirty: 1,
        generation: 1,
        dirty_since: now,
        next_attempt_at: 0,
        attempts: 0,
        lease_until: 0,
        state: 'none',
        status: 'pending',
        correlation_id: correlationId,
        updated_at: now,
      })),
    )
    .onConflict((oc) =>
      oc.columns(['target', 'employee_id']).doUpdateSet({
        dirty: 1,
        generation: sql`pairs.generation + 1`,
        dirty_since: sql`coalesce(pairs.dirty_since, ${now})`,
        next_attempt_at: 0,
        attempts: 0,
        correlation_id: correlationId,
        updated_at: now,
      }),
    )
    .execute();
}

/** When a manager first gets an account at a target, their reports there can now point at it. */
export async function markReportsDirty(trx: Kysely<Database>, target: string, managerId: string, now: number, correlationId: string): Promise<number> {
  const result = await trx
    .updateTable('pairs')
    .set({
      dirty: 1,
      generation: sql`generation + 1`,
      dirty_since: sql`coalesce(dirty_since, ${now})`,
      next_attempt_at: 0,
      correlation_id: correlationId,
      updated_at: now,
    })
    .where('target', '=', target)
    .where('employee_id', 'in', (qb) => qb.selectFrom('employees').select('employee_id').where('manager_id', '=', managerId))
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}
