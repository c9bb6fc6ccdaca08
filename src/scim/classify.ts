import { BridgeError, type ErrorCode } from '../domain/errors.js';
import { parseRetryAfter as parseRetryAfterHeader } from '../domain/retry-after.js';

/** Retry-After is honoured only inside this window: shorter hints are noise, longer ones a stall. */
export const RETRY_AFTER_MIN_SECONDS = 1;
export const RETRY_AFTER_MAX_SECONDS = 300;

const DETAIL_MAX_CHARS = 500;

/**
 * The error code for a non-2xx HTTP status, per DESIGN "Errors". Statuses the design does not name
 * are permanent: retrying an answer we do not understand only multiplies it.
 */
export function codeForStatus(status: number): ErrorCode {
  switch (status) {
    case 429:
      return 'SCIM_THROTTLED';
    case 408:
    case 500:
    case 502:
    case 503:
    case 504:
      return 'SCIM_SERVER_ERROR';
    case 401:
    case 403:
      return 'SCIM_UNAUTHORIZED';
    case 404:
      return 'SCIM_NOT_FOUND';
    case 409:
      return 'SCIM_CONFLICT';
    default:
      // A redirect or a 1xx here means the base URL points at something that is not a SCIM API
      // (a login page, a proxy); every other status is the server refusing what we asked.
      return status < 200 || (status >= 300 && status < 400) ? 'SCIM_BAD_RESPONSE' : 'SCIM_REJECTED';
  }
}

export function clampRetryAfter(seconds: number): number {
  return Math.min(RETRY_AFTER_MAX_SECONDS, Math.max(RETRY_AFTER_MIN_SECONDS, Math.ceil(seconds)));
}

/** Seconds to wait from a Retry-After header, clamped to what the client honours. */
export function parseRetryAfter(value: string | string[] | undefined, now: number = Date.now()): number | undefined {
  const seconds = parseRetryAfterHeader(value, now);
  return seconds === undefined ? undefined : clampRetryAfter(seconds);
}

export interface ScimErrorInfo {
  status?: string;
  scimType?: string;
  detail?: string;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function shortText(value: unknown): string | undefined {
  if (typeof value === 'number') return String(value);
  if (typeof value !== 'string') return undefined;
  const trimmed = value.trim();
  if (!trimmed) return undefined;
  return trimmed.length > DETAIL_MAX_CHARS ? `${trimmed.slice(0, DETAIL_MAX_CHARS)}…` : trimmed;
}

/**
 * Reads a SCIM error body as real servers send it: `schemas` or AWS's singular `schema`, `status`
 * as a string or (Slack, Okta) a number, and the odd vendor that answers in `message`. Anything
 * that is not a JSON object (an HTML error page, a proxy's text) yields no detail rather than a
 * page of markup in the failure reason.
 */
export function parseScimError(body: unknown): ScimErrorInfo {
  if (!isRecord(body)) return {};
  const info: ScimErrorInfo = {};
  const status = shortText(body.status);
  if (status) info.status = status;
  const scimType = shortText(body.scimType);
  if (scimType) info.scimType = scimType;
  const detail = shortText(body.detail) ?? shortText(body.message) ?? shortText(body.error_description);
  if (detail) info.detail = detail;
  return info;
}

export interface FailedResponse {
  method: string;
  /** Path relative to the target's base URL, as reported in audit rows. */
  path: string;
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** Parsed JSON body, or undefined when the body was empty or not JSON. */
  body: unknown;
}

/**
 * The BridgeError for a non-2xx answer. It never carries request headers; `secrets` (the bearer
 * token) are also cut out of the server's own words, since some servers echo the credential back.
 */
export function errorForResponse(response: FailedResponse, secrets: string[] = [], now: number = Date.now()): BridgeError {
  const code = codeForStatus(response.status);
  const info = parseScimError(response.body);
  for (const secret of secrets) {
    if (secret.length < 4) continue;
    if (info.detail) info.detail = info.detail.split(secret).join('[redacted]');
    if (info.scimType) info.scimType = info.scimType.split(secret).join('[redacted]');
  }
  const retryAfterSeconds =
    response.status === 429 || response.status === 503
      ? parseRetryAfter(response.headers['retry-after'], now)
      : undefined;
  // The query can hold a filter on an email or HR id: keep it out of failure reasons and logs.
  const path = response.path.split('?')[0] ?? response.path;
  const summary = [`${response.method} ${path} answered ${response.status}`];
  if (info.scimType) summary.push(`scimType ${info.scimType}`);
  if (info.detail) summary.push(info.detail);
  return new BridgeError(code, summary.join(': '), {
    details: {
      status: response.status,
      method: response.method,
      path,
      ...(info.scimType ? { scimType: info.scimType } : {}),
      ...(info.detail ? { detail: info.detail } : {}),
    },
    ...(retryAfterSeconds !== undefined ? { retryAfterSeconds } : {}),
  });
}
