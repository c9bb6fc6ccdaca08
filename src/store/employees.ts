import type { Kysely } from 'kysely';
import { employeeRecordSchema, isOlderRecord, type EmployeeRecord } from '../domain/employee.js';
import type { IntakeBatch } from './intake-batch.js';
import type { Dialect } from './migrations.js';
import { executeForRows } from './row-statements.js';
import type { Database, EmployeesTable } from './schema.js';

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
 * Outside a batch the write only lands if the row is still the one the decision was made on: a writer
 * that finds it changed reads again and decides again, so an older record never overwrites a newer one
 * and a first insert never fails on another's.
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
  // In a batch the record as the batch last saw it is current (the batch's employees are locked, see
  // employee-locks.ts), and the write waits for the batch's one upsert.
  const seen = await batch?.storedRecord(record.id);
  if (batch && seen !== undefined) {
    const previous = seen !== null ? parseStoredRecord(seen) : null;
    if (previous && isOlderRecord(record, previous)) return { outcome: 'older', previous };
    batch.write({ employee_id: record.id, ...values });
    return { outcome: previous && sameContent(previous, record) ? 'unchanged' : 'applied', previous };
  }
  for (;;) {
    const stored = (await trx.selectFrom('employees').select('record').where('employee_id', '=', record.id).executeTakeFirst())?.record ?? null;
    const previous = stored !== null ? parseStoredRecord(stored) : null;
    if (previous && isOlderRecord(record, previous)) return { outcome: 'older', previous };
    if (stored !== null && previous) {
      const res = await trx.updateTable('employees').set(values).where('employee_id', '=', record.id).where('record', '=', stored).executeTakeFirst();
      if (Number(res.numUpdatedRows) === 0) continue;
      return { outcome: sameContent(previous, record) ? 'unchanged' : 'applied', previous };
    }
    const res = await trx
      .insertInto('employees')
      .values({ employee_id: record.id, ...values })
      .onConflict((oc) => oc.column('employee_id').doNothing())
      .executeTakeFirst();
    if (Number(res.numInsertedOrUpdatedRows ?? 0n) === 0) continue;
    return { outcome: 'applied', previous };
  }
}

/** Stores rows decided under the employees' locks (employee-locks.ts) or by SQLite's one writer. */
export async function upsertEmployees(trx: Kysely<Database>, dialect: Dialect, rows: readonly EmployeesTable[]): Promise<void> {
  await executeForRows(trx, dialect, 'employees.upsert', rows, (db, part) =>
    db
      .insertInto('employees')
      .values(part)
      .onConflict((oc) =>
        oc.column('employee_id').doUpdateSet((eb) => ({
          source: eb.ref('excluded.source'),
          record: eb.ref('excluded.record'),
          version: eb.ref('excluded.version'),
          source_ts: eb.ref('excluded.source_ts'),
          manager_id: eb.ref('excluded.manager_id'),
          updated_at: eb.ref('excluded.updated_at'),
        })),
      ),
  );
}

/** The employee's record as the transaction sees it, including what its batch has yet to write. */
export async function getRecord(db: Kysely<Database>, employeeId: string, batch?: IntakeBatch): Promise<EmployeeRecord | null> {
  const seen = await batch?.storedRecord(employeeId);
  if (seen !== undefined) return seen === null ? null : parseStoredRecord(seen);
  const row = await db.selectFrom('employees').select('record').where('employee_id', '=', employeeId).executeTakeFirst();
  return row ? parseStoredRecord(row.record) : null;
}
