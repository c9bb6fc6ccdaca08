import { createHmac, timingSafeEqual } from 'node:crypto';
import { BridgeError } from '../../domain/errors.js';
import type { WebhookRequest } from '../source.js';

export const defaultToleranceSeconds = 300;

const signaturePattern = /^[0-9a-f]{64}$/;
const maxTimestampLength = 64;
const unixSecondsPattern = /^\d{1,12}$/;
const isoPattern =
  /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?)(Z|[+-]\d{2}:?\d{2})$/i;

export function signBambooHrContent(privateKey: string, rawBody: Buffer, timestamp: string): string {
  return createHmac('sha256', Buffer.from(privateKey, 'utf8')).update(rawBody).update(timestamp, 'utf8').digest('hex');
}

/**
 * BambooHR does not document the timestamp format; samples show both Unix seconds and ISO-8601
 * (sometimes with a `+0000` offset), so both are read. Anything else is refused rather than guessed.
 */
export function parseBambooHrTimestamp(value: string): number | null {
  if (unixSecondsPattern.test(value)) return Number(value) * 1000;
  const match = isoPattern.exec(value);
  if (!match) return null;
  const [, date, time, zone = 'Z'] = match;
  const offset = zone.toUpperCase() === 'Z' ? 'Z' : `${zone.slice(0, 3)}:${zone.slice(-2)}`;
  const millis = Date.parse(`${date ?? ''}T${time ?? ''}${offset}`);
  return Number.isNaN(millis) ? null : millis;
}

export interface VerifyOptions {
  secrets: readonly string[];
  toleranceSeconds?: number;
}

/**
 * Authenticates a BambooHR delivery: lowercase hex HMAC-SHA256, keyed with the webhook's private key
 * as UTF-8, over the raw body immediately followed by the X-BambooHR-Timestamp value.
 * The signature is checked first, so a tampered timestamp reads as a bad signature and the clock is
 * only judged for authentic requests. BambooHR itself sets no replay window; ours is 5 minutes.
 */
export function verifyBambooHrWebhook(request: WebhookRequest, options: VerifyOptions): void {
  const signature = request.headers['x-bamboohr-signature'];
  const timestamp = request.headers['x-bamboohr-timestamp'];
  if (!signature) {
    throw new BridgeError('HRIS_SIGNATURE_MISSING', 'expected X-BambooHR-Signature');
  }
  if (!timestamp) {
    throw new BridgeError('HRIS_TIMESTAMP_INVALID', 'X-BambooHR-Timestamp header is missing');
  }
  if (!signaturePattern.test(signature) || timestamp.length > maxTimestampLength) {
    throw new BridgeError('HRIS_SIGNATURE_INVALID', 'signature is not 64 lowercase hex characters');
  }
  const keys = options.secrets.filter((secret) => secret.length > 0);
  if (keys.length === 0) {
    throw new BridgeError('CONFIG_SECRET_UNRESOLVED', 'no BambooHR webhook private key is configured for this source');
  }

  const provided = Buffer.from(signature, 'utf8');
  let matched = false;
  for (const key of keys) {
    const expected = Buffer.from(signBambooHrContent(key, request.rawBody, timestamp), 'utf8');
    // No early exit: the time taken does not reveal which of the rotated keys matched.
    if (timingSafeEqual(expected, provided)) matched = true;
  }
  if (!matched) throw new BridgeError('HRIS_SIGNATURE_INVALID');

  const sentAt = parseBambooHrTimestamp(timestamp);
  if (sentAt === null) {
    throw new BridgeError('HRIS_TIMESTAMP_INVALID', 'X-BambooHR-Timestamp is neither Unix seconds nor ISO-8601');
  }
  const tolerance = options.toleranceSeconds ?? defaultToleranceSeconds;
  const skew = Math.abs(request.receivedAt.getTime() - sentAt) / 1000;
  if (skew > tolerance) {
    throw new BridgeError('HRIS_TIMESTAMP_INVALID', `timestamp is ${Math.round(skew)} s away from now`, {
      details: { toleranceSeconds: tolerance },
    });
  }
}
