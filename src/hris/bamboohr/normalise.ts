import { z } from 'zod';
import { employeeRecordSchema, type EmployeeRecord, type EmployeeStatus } from '../../domain/employee.js';
import { BridgeError } from '../../domain/errors.js';
import type { Intake } from '../source.js';
import type { BambooHrEvent } from './payload.js';

export function toIntake(event: BambooHrEvent): Intake {
  if (event.kind === 'ignored') return { kind: 'ignore', reason: event.reason };
  return { kind: 'fetch', employeeIds: event.employeeIds };
}

/** BambooHR sends strings, occasionally numbers, and "" or "0000-00-00" for a field with no value. */
const fieldValue = z
  .union([z.string(), z.number(), z.null()])
  .optional()
  .transform((value): string | null => {
    if (value === undefined || value === null) return null;
    const text = String(value).trim();
    return text === '' || text === '0000-00-00' ? null : text;
  });

const employeeJsonSchema = z.object({
  id: fieldValue,
  firstName: fieldValue,
  lastName: fieldValue,
  preferredName: fieldValue,
  workEmail: fieldValue,
  jobTitle: fieldValue,
  department: fieldValue,
  division: fieldValue,
  location: fieldValue,
  employeeNumber: fieldValue,
  status: fieldValue,
  employmentHistoryStatus: fieldValue,
  hireDate: fieldValue,
  terminationDate: fieldValue,
  supervisorEId: fieldValue,
});

export interface NormaliseOptions {
  /** When the record was read; it orders fetched records and decides whether a hire date lies ahead. */
  fetchedAt: Date;
  /** Field name or alias of the account's cost-centre field, when it has one. */
  costCenterField?: string;
}

/**
 * Status table, first match wins:
 * 1. status Inactive, or an employment status naming termination -> terminated
 * 2. hire date after the fetch date                               -> pending
 * 3. an employment status naming leave ("Leave of Absence", "On Leave") -> leave
 * 4. otherwise                                                    -> active
 * Termination comes first so that no other signal can keep a leaver's access.
 */
export function bambooHrStatus(
  fields: { status: string | null; employmentHistoryStatus: string | null; hireDate: string | null },
  fetchedAt: Date,
): EmployeeStatus {
  const employment = fields.employmentHistoryStatus ?? '';
  if (fields.status?.toLowerCase() === 'inactive' || /\bterminated\b/i.test(employment)) return 'terminated';
  const today = fetchedAt.toISOString().slice(0, 10);
  if (fields.hireDate !== null && fields.hireDate > today) return 'pending';
  if (/\bleave\b/i.test(employment)) return 'leave';
  return 'active';
}

function issuesOf(error: z.ZodError): { path: (string | number)[]; message: string }[] {
  return error.issues.map((issue) => ({
    path: issue.path.map((key) => (typeof key === 'symbol' ? String(key) : key)),
    message: issue.message,
  }));
}

/** BambooHR "Get Employee" JSON -> the canonical record. Throws HRIS_EMPLOYEE_INVALID when it cannot be mapped. */
export function normaliseBambooHrEmployee(
  employeeId: string,
  json: Record<string, unknown>,
  options: NormaliseOptions,
): EmployeeRecord {
  const parsed = employeeJsonSchema.safeParse(json);
  if (!parsed.success) {
    throw new BridgeError('HRIS_EMPLOYEE_INVALID', 'unexpected field types', {
      details: { employeeId, issues: issuesOf(parsed.error) },
    });
  }
  const e = parsed.data;
  if (e.id !== null && e.id !== employeeId) {
    throw new BridgeError('HRIS_EMPLOYEE_INVALID', 'BambooHR returned a different employee', {
      details: { employeeId, returnedId: e.id },
    });
  }

  let costCenter: string | null = null;
  if (options.costCenterField !== undefined) {
    const raw = fieldValue.safeParse(json[options.costCenterField]);
    costCenter = raw.success ? raw.data : null;
  }

  const candidate: EmployeeRecord = {
    id: employeeId,
    version: null,
    sourceTimestamp: options.fetchedAt.toISOString(),
    status: bambooHrStatus(e, options.fetchedAt),
    givenName: e.firstName,
    familyName: e.lastName,
    preferredName: e.preferredName,
    workEmail: e.workEmail,
    title: e.jobTitle,
    department: e.department,
    division: e.division,
    costCenter,
    location: e.location,
    employeeNumber: e.employeeNumber,
    employmentType: e.employmentHistoryStatus,
    managerId: e.supervisorEId,
    startDate: e.hireDate,
    // A rehire keeps the old termination date in BambooHR; one before the latest hire date ended an
    // earlier employment, not this one.
    endDate: e.terminationDate !== null && e.hireDate !== null && e.terminationDate < e.hireDate ? null : e.terminationDate,
    // The vendor's own status words stay available to mapping expressions.
    custom: { bamboohr: { status: e.status, employmentHistoryStatus: e.employmentHistoryStatus } },
  };

  const checked = employeeRecordSchema.safeParse(candidate);
  if (!checked.success) {
    throw new BridgeError('HRIS_EMPLOYEE_INVALID', 'the employee does not form a valid record', {
      details: { employeeId, issues: issuesOf(checked.error) },
    });
  }
  return checked.data;
}
