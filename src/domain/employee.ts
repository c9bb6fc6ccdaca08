import { z } from 'zod';

/** The HR lifecycle states the bridge understands; every source maps onto these. */
export const employeeStatuses = ['pending', 'active', 'leave', 'terminated'] as const;
export type EmployeeStatus = (typeof employeeStatuses)[number];

const isoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'expected a date as YYYY-MM-DD');
const text = z.string().max(1024).nullish();

/**
 * The canonical employee record, the same for every HRIS. `version` (or else `sourceTimestamp`)
 * orders records of one employee: an older record never replaces a newer one.
 */
export const employeeRecordSchema = z
  .object({
    id: z.string().min(1).max(256),
    version: z.number().int().nonnegative().nullish(),
    sourceTimestamp: z.iso.datetime({ offset: true }).nullish(),
    status: z.enum(employeeStatuses),
    givenName: text,
    familyName: text,
    preferredName: text,
    workEmail: text,
    title: text,
    department: text,
    division: text,
    costCenter: text,
    location: text,
    employeeNumber: text,
    employmentType: text,
    managerId: z.string().max(256).nullish(),
    startDate: isoDate.nullish(),
    endDate: isoDate.nullish(),
    custom: z.record(z.string(), z.unknown()).nullish(),
  })
  .strict();

export type EmployeeRecord = z.infer<typeof employeeRecordSchema>;

/**
 * True when `candidate` is strictly older than `stored` and must be ignored.
 * Versions win over timestamps; a record without either never counts as older.
 */
export function isOlderRecord(candidate: EmployeeRecord, stored: EmployeeRecord): boolean {
  if (candidate.version != null && stored.version != null) return candidate.version < stored.version;
  if (candidate.sourceTimestamp && stored.sourceTimestamp) {
    return Date.parse(candidate.sourceTimestamp) < Date.parse(stored.sourceTimestamp);
  }
  return false;
}
