import { employeeRecordSchema, type EmployeeRecord } from '../../domain/employee.js';
import type { Intake } from '../source.js';
import { payloadInvalid, toIssues } from '../payload-errors.js';
import type { StandardWebhookEvent, UpsertedEvent } from './payload.js';

/** The sender's `data` is the canonical record already; only the envelope timestamp is added for ordering. */
export function toEmployeeRecord(event: UpsertedEvent): EmployeeRecord {
  const { data } = event;
  const candidate: EmployeeRecord = {
    id: data.id,
    version: data.version ?? null,
    sourceTimestamp: event.timestamp,
    status: data.status,
    givenName: data.givenName ?? null,
    familyName: data.familyName ?? null,
    preferredName: data.preferredName ?? null,
    workEmail: data.workEmail ?? null,
    title: data.title ?? null,
    department: data.department ?? null,
    division: data.division ?? null,
    costCenter: data.costCenter ?? null,
    location: data.location ?? null,
    employeeNumber: data.employeeNumber ?? null,
    employmentType: data.employmentType ?? null,
    managerId: data.managerId ?? null,
    startDate: data.startDate ?? null,
    endDate: data.endDate ?? null,
    custom: data.custom ?? null,
  };
  // The payload schema mirrors the record schema; re-checking keeps the two from drifting apart unnoticed.
  const checked = employeeRecordSchema.safeParse(candidate);
  if (!checked.success) throw payloadInvalid(toIssues(checked.error, ['data']));
  return checked.data;
}

export function toIntake(event: StandardWebhookEvent): Intake {
  if ('ignored' in event) return { kind: 'ignore', reason: `event type ${event.type} carries no employee change` };
  if (event.type === 'employee.deleted') {
    return {
      kind: 'deleted',
      employeeIds: [event.data.id],
      version: event.data.version ?? null,
      sourceTimestamp: event.timestamp,
    };
  }
  return { kind: 'records', records: [toEmployeeRecord(event)] };
}
