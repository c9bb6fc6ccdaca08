import { createHmac, randomBytes } from 'node:crypto';

/**
 * Signers for tests, written independently of src/ so that a bug in a verifier cannot be mirrored by
 * the code that produces its test input.
 */

/** `v1,<base64>` over `id.timestamp.body`, keyed with the base64 part of a `whsec_` secret. */
export function signStandardWebhook(
  id: string,
  timestamp: string | number,
  body: string | Uint8Array,
  secret: string,
): string {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const mac = createHmac('sha256', key);
  mac.update(`${id}.${String(timestamp)}.`);
  mac.update(body);
  return `v1,${mac.digest('base64')}`;
}

/** The three headers of a Standard Webhooks delivery, lower-cased as the webhook route passes them. */
export function standardWebhookHeaders(
  id: string,
  timestamp: string | number,
  body: string | Uint8Array,
  secret: string,
): Record<string, string> {
  return {
    'content-type': 'application/json',
    'webhook-id': id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': signStandardWebhook(id, timestamp, body, secret),
  };
}

/** Lowercase hex HMAC-SHA256 over the raw body immediately followed by the timestamp header value. */
export function signBambooHr(body: string | Uint8Array, secret: string, timestamp: string): string {
  const mac = createHmac('sha256', Buffer.from(secret, 'utf8'));
  mac.update(body);
  mac.update(timestamp, 'utf8');
  return mac.digest('hex');
}

export function bambooHrHeaders(body: string | Uint8Array, secret: string, timestamp: string): Record<string, string> {
  return {
    'content-type': 'application/json',
    'x-bamboohr-timestamp': timestamp,
    'x-bamboohr-signature': signBambooHr(body, secret, timestamp),
  };
}

/** A fresh `whsec_` secret of the given length (the spec allows 24 to 64 bytes). */
export function newStandardWebhookSecret(bytes = 32): string {
  return `whsec_${randomBytes(bytes).toString('base64')}`;
}
