import { z } from 'zod';
import { employeeStatuses } from '../../domain/employee.js';
import { payloadInvalid, toIssues } from '../payload-errors.js';

const maxCustomJsonLength = 16 * 1024;

const isoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'expected a date as YYYY-MM-DD');
const text = z.string().max(1024).nullish();
const employeeId = z.string().min(1).max(256);
const sourceTimestamp = z.iso.datetime({ offset: true });

const custom = z
  .record(z.string().max(256), z.unknown())
  .refine((value) => JSON.stringify(value).length <= maxCustomJsonLength, {
    message: `custom must serialise to at most ${maxCustomJsonLength} characters`,
  });

/**
 * `data` of employee.upserted. Keys this version does not know are dropped rather than refused, so a
 * sender can add fields before the bridge understands them; the known ones are validated strictly.
 */
export const upsertedDataSchema = z.object({
  id: employeeId,
  version: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER).nullish(),
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
  custom: custom.nullish(),
});

export const deletedDataSchema = z.object({
  id: employeeId,
  version: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER).nullish(),
});

const eventType = z.string().min(1).max(128);

export const envelopeSchema = z.object({
  type: eventType,
  timestamp: sourceTimestamp,
  data: z.unknown(),
});

export const upsertedSchema = envelopeSchema.extend({
  type: z.literal('employee.upserted'),
  data: upsertedDataSchema,
});

export const deletedSchema = envelopeSchema.extend({
  type: z.literal('employee.deleted'),
  data: deletedDataSchema,
});

export type UpsertedEvent = z.infer<typeof upsertedSchema>;
export type DeletedEvent = z.infer<typeof deletedSchema>;

export type StandardWebhookEvent =
  | UpsertedEvent
  | DeletedEvent
  /** An event outside the employee namespace: acknowledged, nothing to store. */
  | { type: string; timestamp: string; data?: undefined; ignored: true };


/**
 * Validates the DESIGN body. Unknown event types in the `employee.` namespace are refused: acknowledging
 * a lifecycle event the bridge cannot act on (say, a termination) would silently leave access in place.
 * Types outside that namespace are acknowledged and ignored, so a sender subscribed broadly is not
 * pushed into retries and endpoint disabling.
 */
export function parseStandardWebhookPayload(body: unknown): StandardWebhookEvent {
  // Known types are checked against their full schema at once, so one response lists every problem.
  const type = typeof body === 'object' && body !== null && 'type' in body ? body.type : undefined;
  if (type === 'employee.upserted') {
    const parsed = upsertedSchema.safeParse(body);
    if (!parsed.success) throw payloadInvalid(toIssues(parsed.error));
    return parsed.data;
  }
  if (type === 'employee.deleted') {
    const parsed = deletedSchema.safeParse(body);
    if (!parsed.success) throw payloadInvalid(toIssues(parsed.error));
    return parsed.data;
  }

  const envelope = envelopeSchema.safeParse(body);
  if (!envelope.success) throw payloadInvalid(toIssues(envelope.error));
  if (envelope.data.type.startsWith('employee.')) {
    throw payloadInvalid([
      {
        path: ['type'],
        message: `unsupported employee event "${envelope.data.type}": expected employee.upserted or employee.deleted`,
      },
    ]);
  }
  return { type: envelope.data.type, timestamp: envelope.data.timestamp, ignored: true };
}
