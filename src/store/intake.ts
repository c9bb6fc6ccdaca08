import type { Kysely } from 'kysely';
import type { AuditEntry } from './audit.js';
import { applyRecord, getRecord } from './employees.js';
import type { IntakeBatch } from './intake-batch.js';
import type { Database } from './schema.js';
import type { IntakeInput, IntakeResult } from './store.js';

/** What the delivery did, and how many records it changed (marked dirty), which the store alone uses. */
export interface IntakeOutcome extends IntakeResult {
  changed: number;
}

/**
 * The whole effect of one accepted delivery, inside the transaction of its batch (the deliveries that
 * commit together): the batch holds the statements they share.
 */
export async function applyIntake(trx: Kysely<Database>, input: IntakeInput, audit: AuditEntry[], batch: IntakeBatch): Promise<IntakeOutcome> {
  const { source, deliveryId, eventType, receivedAt: now, correlationId, intake, targets } = input;
  const base = { at: now, correlationId, source };
  if (!(await batch.isNew(input))) {
    audit.push({ ...base, action: 'delivery.duplicate', outcome: 'ignored', details: { deliveryId, eventType } });
    return { duplicate: true, applied: 0, ignored: 0, changed: 0 };
  }
  audit.push({ ...base, action: 'delivery.received', outcome: 'success', details: { deliveryId, eventType, intake: intake.kind } });

  let applied = 0;
  let ignored = 0;
  let changed = 0;
  switch (intake.kind) {
    case 'records':
      for (const record of intake.records) {
        const { outcome } = await applyRecord(trx, source, record, now, batch);
        const details = { deliveryId, version: record.version ?? null, sourceTimestamp: record.sourceTimestamp ?? null, status: record.status };
        if (outcome === 'older') {
          ignored += 1;
          audit.push({ ...base, employeeId: record.id, action: 'record.ignored_older', outcome: 'ignored', details });
          continue;
        }
        applied += 1;
        audit.push({ ...base, employeeId: record.id, action: outcome === 'applied' ? 'record.updated' : 'record.unchanged', outcome: 'success', details });
        if (outcome === 'applied') {
          changed += 1;
          batch.markDirty(targets, record.id, now, correlationId);
        }
      }
      break;
    case 'deleted':
      for (const id of intake.employeeIds) {
        // The terminated record is built from the record as it is now, including this batch's writes.
        const stored = await getRecord(trx, id, batch);
        if (!stored) {
          ignored += 1;
          audit.push({ ...base, employeeId: id, action: 'record.deleted', outcome: 'ignored', details: { deliveryId, reason: 'employee never stored' } });
          continue;
        }
        // The HR fields stay: the account still needs its userName and groups to be deactivated cleanly.
        // A delete without a version outranks the record it ends: a late copy of that same version must not
        // bring the employee back, while a genuinely newer version (a rehire) still does.
        const version = intake.version ?? (stored.version != null ? stored.version + 1 : null);
        const terminated = { ...stored, status: 'terminated' as const, version, sourceTimestamp: intake.sourceTimestamp ?? stored.sourceTimestamp };
        const { outcome } = await applyRecord(trx, source, terminated, now, batch);
        if (outcome === 'older') {
          ignored += 1;
          audit.push({ ...base, employeeId: id, action: 'record.ignored_older', outcome: 'ignored', details: { deliveryId } });
          continue;
        }
        applied += 1;
        audit.push({ ...base, employeeId: id, action: 'record.deleted', outcome: 'success', details: { deliveryId } });
        if (outcome === 'applied') {
          changed += 1;
          batch.markDirty(targets, id, now, correlationId);
        }
      }
      break;
    case 'fetch':
      for (const id of intake.employeeIds) {
        await trx
          .insertInto('fetches')
          .values({ source, employee_id: id, requested_at: now, attempts: 0, next_attempt_at: 0, lease_until: 0, last_error: null, correlation_id: correlationId })
          .onConflict((oc) => oc.columns(['source', 'employee_id']).doUpdateSet({ requested_at: now, attempts: 0, next_attempt_at: 0, correlation_id: correlationId }))
          .execute();
        applied += 1;
        audit.push({ ...base, employeeId: id, action: 'record.fetch_requested', outcome: 'success', details: { deliveryId } });
      }
      break;
    case 'ignore':
      audit.push({ ...base, action: 'delivery.ignored', outcome: 'ignored', details: { deliveryId, reason: intake.reason } });
      break;
  }
  return { duplicate: false, applied, ignored, changed };
}
