import { createHmac, timingSafeEqual } from 'node:crypto';
import { BridgeError } from '../../domain/errors.js';
import type { WebhookRequest } from '../source.js';

export const defaultToleranceSeconds = 300;

/** Bounds on attacker-controlled header input, so a hostile request cannot make verification expensive. */
const maxSignatureHeaderLength = 4096;
const maxSignatures = 16;

const base64Pattern = /^[A-Za-z0-9+/]+={0,2}$/;

export interface StandardWebhookHeaders {
  id: string;
  timestamp: string | undefined;
  signature: string;
}

/**
 * Reads the three signing headers, under either the `webhook-*` names or Svix's `svix-*` names.
 * One family is used as a whole so that a request cannot pair an id of one family with a signature
 * of the other.
 */
export function readStandardWebhookHeaders(
  headers: WebhookRequest['headers'],
): StandardWebhookHeaders | null {
  for (const prefix of ['webhook', 'svix']) {
    const id = headers[`${prefix}-id`];
    const signature = headers[`${prefix}-signature`];
    const timestamp = headers[`${prefix}-timestamp`];
    if (id === undefined && signature === undefined && timestamp === undefined) continue;
    if (!id || !signature) return null;
    return { id, signature, timestamp: timestamp || undefined };
  }
  return null;
}

/**
 * Turns configured secrets into HMAC keys. The `whsec_` prefix is optional, as in the reference
 * libraries; a secret that is not base64 is a configuration fault, never a reason to accept a request.
 */
export function decodeStandardWebhookSecrets(secrets: readonly string[]): Buffer[] {
  const keys: Buffer[] = [];
  for (const secret of secrets) {
    const encoded = secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret;
    if (!base64Pattern.test(encoded)) continue;
    const key = Buffer.from(encoded, 'base64');
    if (key.length > 0) keys.push(key);
  }
  if (keys.length === 0) {
    throw new BridgeError('CONFIG_SECRET_UNRESOLVED', 'no usable whsec_ secret is configured for this source');
  }
  return keys;
}

export function signStandardWebhookContent(key: Buffer, id: string, timestamp: string, rawBody: Buffer): string {
  return createHmac('sha256', key).update(`${id}.${timestamp}.`, 'utf8').update(rawBody).digest('base64');
}

/** The `v1,` signatures of the header; other versions (such as Ed25519 `v1a,`) are not ours to check. */
function v1Signatures(header: string): string[] {
  if (header.length > maxSignatureHeaderLength) {
    throw new BridgeError('HRIS_SIGNATURE_INVALID', 'signature header is too long');
  }
  const entries = header.split(' ').filter((entry) => entry.length > 0);
  if (entries.length > maxSignatures) {
    throw new BridgeError('HRIS_SIGNATURE_INVALID', 'too many signatures');
  }
  const signatures: string[] = [];
  for (const entry of entries) {
    const comma = entry.indexOf(',');
    if (comma > 0 && entry.slice(0, comma) === 'v1') signatures.push(entry.slice(comma + 1));
  }
  return signatures;
}

/**
 * Compares the canonical base64 text rather than decoded bytes: lenient base64 decoding ignores
 * padding bits, so two different strings could otherwise decode to the same digest.
 */
function matchesAny(expected: readonly string[], provided: readonly string[]): boolean {
  let matched = false;
  for (const candidate of provided) {
    const candidateBytes = Buffer.from(candidate, 'utf8');
    for (const digest of expected) {
      const digestBytes = Buffer.from(digest, 'utf8');
      // Every pair is compared (no early exit) so the time taken does not reveal which secret matched.
      if (candidateBytes.length === digestBytes.length && timingSafeEqual(candidateBytes, digestBytes)) {
        matched = true;
      }
    }
  }
  return matched;
}

export interface VerifyOptions {
  secrets: readonly string[];
  toleranceSeconds?: number;
}

/**
 * Authenticates a Standard Webhooks (or Svix) delivery on its raw bytes.
 * The signature is checked before the timestamp, so the clock is only judged for authentic requests
 * and any tampering, including with the timestamp, reads as an invalid signature.
 */
export function verifyStandardWebhook(request: WebhookRequest, options: VerifyOptions): void {
  const headers = readStandardWebhookHeaders(request.headers);
  if (!headers) {
    throw new BridgeError('HRIS_SIGNATURE_MISSING', 'expected webhook-id and webhook-signature (or svix-*)');
  }
  if (headers.timestamp === undefined) {
    throw new BridgeError('HRIS_TIMESTAMP_INVALID', 'webhook-timestamp header is missing');
  }
  const provided = v1Signatures(headers.signature);
  if (provided.length === 0) {
    throw new BridgeError('HRIS_SIGNATURE_INVALID', 'no v1 signature in the header');
  }
  const keys = decodeStandardWebhookSecrets(options.secrets);
  const expected = keys.map((key) => signStandardWebhookContent(key, headers.id, headers.timestamp ?? '', request.rawBody));
  if (!matchesAny(expected, provided)) {
    throw new BridgeError('HRIS_SIGNATURE_INVALID');
  }

  if (!/^\d{1,12}$/.test(headers.timestamp)) {
    throw new BridgeError('HRIS_TIMESTAMP_INVALID', 'webhook-timestamp is not Unix seconds');
  }
  const tolerance = options.toleranceSeconds ?? defaultToleranceSeconds;
  const skew = Math.abs(request.receivedAt.getTime() / 1000 - Number(headers.timestamp));
  if (skew > tolerance) {
    throw new BridgeError('HRIS_TIMESTAMP_INVALID', `timestamp is ${Math.round(skew)} s away from now`, {
      details: { toleranceSeconds: tolerance },
    });
  }
}
