import type { EmployeeRecord } from '../domain/employee.js';

/** What the webhook route hands a source adapter: the exact bytes received, before any parsing. */
export interface WebhookRequest {
  rawBody: Buffer;
  /** Lower-cased header names. */
  headers: Readonly<Record<string, string | undefined>>;
  receivedAt: Date;
}

/**
 * What one verified delivery means for the store.
 * - records: a full-record source; each record is stored if newer than what is held.
 * - fetch: an ID-only source; the worker reads each employee from the HRIS API later.
 * - deleted: the employee no longer exists at the source; handled as terminated.
 * - ignore: a connectivity check or an event that carries no employee change.
 */
export type Intake =
  | { kind: 'records'; records: EmployeeRecord[] }
  | { kind: 'fetch'; employeeIds: string[] }
  | { kind: 'deleted'; employeeIds: string[]; version: number | null; sourceTimestamp: string | null }
  | { kind: 'ignore'; reason: string };

export interface ParsedDelivery {
  /** Unique per delivery at this source; a repeat is acknowledged and has no second effect. */
  deliveryId: string;
  eventType: string;
  intake: Intake;
}

/** One configured source of HR webhooks. Verify and parse are pure; fetchEmployee does I/O. */
export interface SourceAdapter {
  readonly name: string;
  readonly type: string;
  /** Throws a BridgeError (HRIS_SIGNATURE_*, HRIS_TIMESTAMP_INVALID) unless the request is authentic. */
  verify(request: WebhookRequest): void;
  /** Throws BridgeError HRIS_PAYLOAD_INVALID with the zod issues in details.issues. */
  parse(request: WebhookRequest): ParsedDelivery;
  /**
   * ID-only sources: read the current record from the HRIS API. `null` means the HRIS says the
   * employee does not exist (any more). Throws HRIS_FETCH_FAILED (transient) or HRIS_FETCH_REJECTED.
   */
  fetchEmployee?(employeeId: string): Promise<EmployeeRecord | null>;
}
