import type { z } from 'zod';
import { BridgeError } from '../domain/errors.js';

/** One thing wrong with a webhook body, as the 400 answer lists it. */
export interface PayloadIssue {
  path: (string | number)[];
  message: string;
}

export function toIssues(error: z.ZodError, prefix: (string | number)[] = []): PayloadIssue[] {
  return error.issues.map((issue) => ({
    path: [...prefix, ...issue.path.map((key) => (typeof key === 'symbol' ? String(key) : key))],
    message: issue.message,
  }));
}

export function payloadInvalid(issues: PayloadIssue[]): BridgeError {
  const first = issues[0];
  const where = first && first.path.length > 0 ? first.path.join('.') : 'body';
  return new BridgeError('HRIS_PAYLOAD_INVALID', first ? `${where}: ${first.message}` : undefined, {
    details: { issues },
  });
}

/** Reused: a decoder is costly to create, and decode() without `stream` starts afresh each call. */
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Strict UTF-8 so that bytes the signature covered are never silently replaced before parsing.
 * `notJson` is what to tell a sender whose body is not JSON.
 */
export function parseJsonBody(rawBody: Buffer, notJson = 'body is not valid JSON'): unknown {
  let text: string;
  try {
    text = strictUtf8.decode(rawBody);
  } catch {
    throw payloadInvalid([{ path: [], message: 'body is not valid UTF-8' }]);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw payloadInvalid([{ path: [], message: notJson }]);
  }
}
