import type { Kysely } from 'kysely';
import { employeeRecordSchema, isOlderRecord, type EmployeeRecord } from '../domain/employee.js';
import type { IntakeBatch } from './intake-batch.js';
import type { Database } from './schema.js';

export type RecordOutcome = 'applied' | 'older' | 'unchanged';

export function parseStoredRecord(json: string): EmployeeRecord {
  return employeeRecordSchema.parse(JSON.parse(json));
}

/** Content without the ordering fields: a newer version with the same content changes nothing. */
function sameContent(a: EmployeeRecord, b: EmployeeRecord): boolean {
  const strip = ({ version: _v, sourceTimestamp: _t, ...rest }: EmployeeRecord) => rest;
  return JSON.stringify(strip(a)) === JSON.stringify(strip(b));
}

/**
 * Stores `record` unless the stored one is newer. Runs inside the caller's transaction.
 *
 * The write only lands if the row is still the one the decision was made on: replicas that receive two
 * versions of one employee at the same moment each re-read and decide again, so an older record never
 * overwrites a newer one and a first insert never fails on the other's.
 */
export async function applyRecord(
  trx: Kysely<Database>,
  source: string,
  record: EmployeeRecord,
  now: number,
  batch?: IntakeBatch,
): Promise<{ outcome: RecordOutcome; previous: EmployeeRecord | null }> {
  const values = {
    source,
    record: JSON.stringify(record),
    version: record.version ?? null,
    source_ts: record.sourceTimestamp ? Date.parse(record.sourceTimestamp) : null,
    manager_id: record.managerId ?? null,
    updated_at: now,
  };
  // The batch's read stands in for the first one; a write that finds the row changed reads again.
  let known = await batch?.storedRecord(record.id);
  for (;;) {
    const stored = known !== undefined ? known : ((await trx.selectFrom('employees').select('record').where('employee_id', '=', record.id).executeTakeFirst())?.record ?? null);
    known = undefined;
    const previous = stored !== null ? parseStoredRecord(stored) : null;
    if (previous && isOlderRecord(record, previous)) return { outcome: 'older', previous };
    if (stored !== null && previous) {
      const res = await trx.updateTable('employees').set(values).where('employee_id', '=', record.id).where('record', '=', stored).executeTakeFirst();
      if (Number(res.numUpdatedRows) === 0) continue;
      await batch?.wrote(record.id, values.record);
      return { outcome: sameContent(previous, record) ? 'unchanged' : 'applied', previous };
    }
    const res = await trx
      .insertInto('employees')
      .values({ employee_id: record.id, ...values })
      .onConflict((oc) => oc.column('employee_id').doNothing())
      .executeTakeFirst();
    if (Number(res.numInsertedOrUpdatedRows ?? 0n) === 0) continue;
    await batch?.wrote(record.id, values.record);
    return { outcome: 'applied', previous };
  }
}

export async function getRecord(db: Kysely<Database>, employeeId: string): Promise<EmployeeRecord | null> {
  const row = await db.selectFrom('employees').select('record').where('employee_id', '=', employeeId).executeTakeFirst();
  return row ? parseStoredRecord(row.record) : null;
}
