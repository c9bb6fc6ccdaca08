import type { Kysely } from 'kysely';
import { employeeRecordSchema, isOlderRecord, type EmployeeRecord } from '../domain/employee.js';
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

/** Stores `record` unless the stored one is newer. Runs inside the caller's transaction. */
export async function applyRecord(
  trx: Kysely<Database>,
  source: string,
  record: EmployeeRecord,
  now: number,
): Promise<{ outcome: RecordOutcome; previous: EmployeeRecord | null }> {
  const row = await trx.selectFrom('employees').select('record').where('employee_id', '=', record.id).executeTakeFirst();
  const previous = row ? parseStoredRecord(row.record) : null;
  if (previous && isOlderRecord(record, previous)) return { outcome: 'older', previous };
  const values = {
    source,
    record: JSON.stringify(record),
    version: record.version ?? null,
    source_ts: record.sourceTimestamp ? Date.parse(record.sourceTimestamp) : null,
    manager_id: record.managerId ?? null,
    updated_at: now,
  };
  if (previous) {
    await trx.updateTable('employees').set(values).where('employee_id', '=', record.id).execute();
    return { outcome: sameContent(previous, record) ? 'unchanged' : 'applied', previous };
  }
  await trx.insertInto('employees').values({ employee_id: record.id, ...values }).execute();
  return { outcome: 'applied', previous };
}

export async function getRecord(db: Kysely<Database>, employeeId: string): Promise<EmployeeRecord | null> {
  const row = await db.selectFrom('employees').select('record').where('employee_id', '=', employeeId).executeTakeFirst();
  return row ? parseStoredRecord(row.record) : null;
}
