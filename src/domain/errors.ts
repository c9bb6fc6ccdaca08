/**
 * The one error catalogue. Codes are stable: operators alert on them and auditors read them.
 * `kind` decides what happens next:
 * - transient: retry with backoff and jitter (Retry-After honoured)
 * - permanent: the pair is marked failed with the reason; the next record change retries it
 * - config: the target (or source) is paused until its configuration or secret changes
 * - signal: an expected protocol answer that steers the algorithm (404 on update, 409 on create)
 * - input: the caller sent something wrong (webhook rejected, config refused)
 */
export type ErrorKind = 'transient' | 'permanent' | 'config' | 'signal' | 'input';

export const errorCatalogue = {
  CONFIG_INVALID: { kind: 'input', status: 500, message: 'configuration is invalid' },
  CONFIG_SECRET_UNRESOLVED: { kind: 'config', status: 500, message: 'a secret reference could not be resolved' },
  HRIS_SOURCE_UNKNOWN: { kind: 'input', status: 404, message: 'no source with that name is configured' },
  HRIS_SIGNATURE_MISSING: { kind: 'input', status: 401, message: 'signature headers are missing' },
  HRIS_SIGNATURE_INVALID: { kind: 'input', status: 401, message: 'no signature matches the body' },
  HRIS_TIMESTAMP_INVALID: { kind: 'input', status: 401, message: 'timestamp is missing, malformed or outside the tolerance' },
  HRIS_PAYLOAD_INVALID: { kind: 'input', status: 400, message: 'body does not match the source schema' },
  HRIS_PAYLOAD_TOO_LARGE: { kind: 'input', status: 413, message: 'body exceeds the size limit' },
  HRIS_CONTENT_TYPE: { kind: 'input', status: 415, message: 'content type is not supported' },
  HRIS_FETCH_FAILED: { kind: 'transient', status: 502, message: 'the HRIS API could not be read' },
  HRIS_FETCH_REJECTED: { kind: 'config', status: 502, message: 'the HRIS API refused the credentials' },
  HRIS_EMPLOYEE_INVALID: { kind: 'permanent', status: 502, message: 'the HRIS API returned an employee that cannot be mapped' },
  STORE_UNAVAILABLE: { kind: 'transient', status: 503, message: 'the store is unavailable' },
  MAPPING_INVALID: { kind: 'input', status: 500, message: 'a mapping file is invalid' },
  MAPPING_EVALUATION_FAILED: { kind: 'permanent', status: 500, message: 'a mapping expression failed for this record' },
  MAPPING_OUTPUT_INVALID: { kind: 'permanent', status: 500, message: 'a mapping produced an invalid SCIM resource' },
  SCIM_NETWORK: { kind: 'transient', status: 502, message: 'the target could not be reached' },
  SCIM_TIMEOUT: { kind: 'transient', status: 504, message: 'the target did not answer in time' },
  SCIM_THROTTLED: { kind: 'transient', status: 429, message: 'the target is rate limiting' },
  SCIM_SERVER_ERROR: { kind: 'transient', status: 502, message: 'the target answered with a server error' },
  SCIM_UNAUTHORIZED: { kind: 'config', status: 502, message: 'the target refused the credentials' },
  SCIM_REJECTED: { kind: 'permanent', status: 502, message: 'the target rejected the request' },
  SCIM_NOT_FOUND: { kind: 'signal', status: 404, message: 'the resource does not exist at the target' },
  SCIM_CONFLICT: { kind: 'signal', status: 409, message: 'the resource already exists at the target' },
  SCIM_AMBIGUOUS_MATCH: { kind: 'permanent', status: 502, message: 'more than one target account matches this employee' },
  SCIM_BAD_RESPONSE: { kind: 'permanent', status: 502, message: 'the target answered with something that is not SCIM' },
  ADMIN_UNAUTHORIZED: { kind: 'input', status: 401, message: 'admin token missing or wrong' },
} as const satisfies Record<string, { kind: ErrorKind; status: number; message: string }>;

export type ErrorCode = keyof typeof errorCatalogue;

export interface BridgeErrorOptions {
  cause?: unknown;
  /** Structured, secret-free detail (zod issues, HTTP status, scimType...). */
  details?: Record<string, unknown>;
  /** Seconds the peer asked us to wait (Retry-After), already parsed. */
  retryAfterSeconds?: number;
}

export class BridgeError extends Error {
  readonly code: ErrorCode;
  readonly kind: ErrorKind;
  readonly status: number;
  readonly details: Record<string, unknown>;
  readonly retryAfterSeconds: number | undefined;

  constructor(code: ErrorCode, detail?: string, options: BridgeErrorOptions = {}) {
    const entry = errorCatalogue[code];
    super(detail ? `${entry.message}: ${detail}` : entry.message, { cause: options.cause });
    this.name = 'BridgeError';
    this.code = code;
    this.kind = entry.kind;
    this.status = entry.status;
    this.details = options.details ?? {};
    this.retryAfterSeconds = options.retryAfterSeconds;
  }

  toJSON(): Record<string, unknown> {
    return { code: this.code, kind: this.kind, message: this.message, ...this.details };
  }
}

export function isBridgeError(value: unknown, code?: ErrorCode): value is BridgeError {
  return value instanceof BridgeError && (code === undefined || value.code === code);
}
