import { z } from 'zod';
import { parseJsonBody, payloadInvalid, toIssues } from '../payload-errors.js';

/**
 * BambooHR employee ids are integers. Holding them to digits also keeps them safe to place in the
 * API path when the employee is fetched.
 */
export const bambooHrEmployeeId = z
  .union([
    z.string().regex(/^\d{1,20}$/, 'expected a numeric BambooHR employee id'),
    z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  ])
  .transform((id) => String(id));

const fieldName = z.string().max(256);
const changedFields = z.array(fieldName).max(1000);

/** Recommended event-based webhooks: `{type, timestamp, data:{companyId, employeeId, changedFields}}`. */
export const eventBodySchema = z.object({
  type: z.string().min(1).max(128),
  timestamp: z.string().max(64).optional(),
  data: z.object({
    companyId: z.union([z.string().max(64), z.number()]).optional(),
    employeeId: bambooHrEmployeeId,
    changedFields: changedFields.optional(),
  }),
});

/** Legacy field-based webhooks: several employees may be batched in one delivery. */
export const fieldBodySchema = z.object({
  employees: z
    .array(
      z.object({
        id: bambooHrEmployeeId,
        action: z.string().max(64).optional(),
        timestamp: z.string().max(64).optional(),
        changedFields: changedFields.optional(),
        fields: z.record(fieldName, z.unknown()).optional(),
      }),
    )
    .max(1000),
});

export type BambooHrEvent =
  | { kind: 'employees'; eventType: string; employeeIds: string[] }
  | { kind: 'ignored'; eventType: string; reason: string };

/** BambooHR can also post form-encoded bodies; those webhooks must be switched to JSON. */
export function parseBambooHrJson(rawBody: Buffer): unknown {
  return parseJsonBody(rawBody, 'body is not valid JSON (form-encoded webhooks are not supported)');
}

function unique(ids: string[]): string[] {
  return [...new Set(ids)];
}

/**
 * Reads either webhook family. Every employee event, whatever its action (deleted included), becomes
 * "fetch this employee": the record is re-read from the API, so an event type added later by BambooHR
 * is still acted on instead of being acknowledged and lost.
 */
export function parseBambooHrPayload(body: unknown): BambooHrEvent {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw payloadInvalid([{ path: [], message: 'expected a JSON object' }]);
  }

  if ('employees' in body) {
    const parsed = fieldBodySchema.safeParse(body);
    if (!parsed.success) throw payloadInvalid(toIssues(parsed.error));
    const { employees } = parsed.data;
    const actions = unique(employees.map((employee) => (employee.action ?? 'changed').toLowerCase()));
    const eventType = `employee_with_fields.${actions.length === 1 ? (actions[0] ?? 'changed') : 'batch'}`;
    if (employees.length === 0) return { kind: 'ignored', eventType, reason: 'the batch names no employee' };
    return { kind: 'employees', eventType, employeeIds: unique(employees.map((employee) => employee.id)) };
  }

  if ('type' in body) {
    const type = z.string().min(1).max(128).safeParse(body.type);
    if (!type.success) throw payloadInvalid(toIssues(type.error).map((issue) => ({ ...issue, path: ['type'] })));
    if (!type.data.startsWith('employee.')) {
      return { kind: 'ignored', eventType: type.data, reason: `event type ${type.data} carries no employee change` };
    }
    const parsed = eventBodySchema.safeParse(body);
    if (!parsed.success) throw payloadInvalid(toIssues(parsed.error));
    return { kind: 'employees', eventType: parsed.data.type, employeeIds: [parsed.data.data.employeeId] };
  }

  throw payloadInvalid([
    { path: [], message: 'expected an event-based body ({type, data}) or a field-based body ({employees})' },
  ]);
}
