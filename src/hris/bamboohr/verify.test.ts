import { readFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isBridgeError, type ErrorCode } from '../../domain/errors.js';
import { bambooHrHeaders, signBambooHr } from '../../../test/helpers/signing.js';
import type { WebhookRequest } from '../source.js';
import { parseBambooHrTimestamp, verifyBambooHrWebhook } from './verify.js';

const fixturesDir =
  process.env.HRIS_FIXTURES_DIR ?? path.resolve(import.meta.dirname, '../../../../shared/fixtures/hris');

interface FixtureHeaders {
  headers: Record<string, string>;
  _fixture: { secret: string };
}

function loadFixture(name: string): { rawBody: Buffer; headers: Record<string, string>; secret: string } {
  const rawBody = readFileSync(path.join(fixturesDir, `${name}.json`));
  const meta = JSON.parse(readFileSync(path.join(fixturesDir, `${name}.headers.json`), 'utf8')) as FixtureHeaders;
  const headers = Object.fromEntries(Object.entries(meta.headers).map(([k, v]) => [k.toLowerCase(), v]));
  return { rawBody, headers, secret: meta._fixture.secret };
}

function expectCode(fn: () => void, code: ErrorCode): void {
  let thrown: unknown;
  try {
    fn();
  } catch (error) {
    thrown = error;
  }
  expect(isBridgeError(thrown), `expected BridgeError ${code}, got ${String(thrown)}`).toBe(true);
  expect((thrown as { code: string }).code).toBe(code);
}

function flipByte(buffer: Buffer, index: number, mask = 0x01): Buffer {
  const copy = Buffer.from(buffer);
  copy[index] = (copy[index] ?? 0) ^ mask;
  return copy;
}

describe.each(['bamboohr-employee.updated', 'bamboohr-employee_with_fields.updated'])('fixture %s', (name) => {
  const fixture = loadFixture(name);
  const timestamp = fixture.headers['x-bamboohr-timestamp'] ?? '';
  const signature = fixture.headers['x-bamboohr-signature'] ?? '';
  const sentAt = new Date(Number(timestamp) * 1000);
  const request = (overrides: Partial<WebhookRequest> = {}): WebhookRequest => ({
    rawBody: fixture.rawBody,
    headers: fixture.headers,
    receivedAt: sentAt,
    ...overrides,
  });
  const secrets = [fixture.secret];

  it('verifies at its own timestamp', () => {
    expect(() => verifyBambooHrWebhook(request(), { secrets })).not.toThrow();
  });

  it('refuses a flipped byte in the body, the timestamp or the signature', () => {
    for (const index of [0, fixture.rawBody.length >> 1, fixture.rawBody.length - 1]) {
      expectCode(() => verifyBambooHrWebhook(request({ rawBody: flipByte(fixture.rawBody, index) }), { secrets }), 'HRIS_SIGNATURE_INVALID');
    }
    const lastDigit = Number(timestamp.at(-1));
    const nearby = `${timestamp.slice(0, -1)}${String((lastDigit + 1) % 10)}`;
    expectCode(
      () => verifyBambooHrWebhook(request({ headers: { ...fixture.headers, 'x-bamboohr-timestamp': nearby } }), { secrets }),
      'HRIS_SIGNATURE_INVALID',
    );
    for (let i = 0; i < signature.length; i += 1) {
      const replacement = signature[i] === '0' ? '1' : '0';
      const mutated = `${signature.slice(0, i)}${replacement}${signature.slice(i + 1)}`;
      expectCode(
        () => verifyBambooHrWebhook(request({ headers: { ...fixture.headers, 'x-bamboohr-signature': mutated } }), { secrets }),
        'HRIS_SIGNATURE_INVALID',
      );
    }
  });

  it('refuses an upper-case signature, which BambooHR never sends', () => {
    expectCode(
      () =>
        verifyBambooHrWebhook(request({ headers: { ...fixture.headers, 'x-bamboohr-signature': signature.toUpperCase() } }), { secrets }),
      'HRIS_SIGNATURE_INVALID',
    );
  });

  it('refuses it more than 5 minutes away', () => {
    for (const offset of [-301_000, 301_000]) {
      expectCode(
        () => verifyBambooHrWebhook(request({ receivedAt: new Date(sentAt.getTime() + offset) }), { secrets }),
        'HRIS_TIMESTAMP_INVALID',
      );
    }
    expect(() => verifyBambooHrWebhook(request({ receivedAt: new Date(sentAt.getTime() + 299_000) }), { secrets })).not.toThrow();
  });

  it('refuses it under another key', () => {
    expectCode(() => verifyBambooHrWebhook(request(), { secrets: ['another-key'] }), 'HRIS_SIGNATURE_INVALID');
  });
});

describe('verifyBambooHrWebhook', () => {
  const secret = 'private-key-1';
  const body = Buffer.from('{"type":"employee.updated","data":{"companyId":"1","employeeId":"7"}}');
  const now = new Date('2026-03-02T14:05:09Z');
  const unix = String(now.getTime() / 1000);
  const request = (headers: Record<string, string>, rawBody: Buffer = body): WebhookRequest => ({ rawBody, headers, receivedAt: now });

  it('reports missing headers', () => {
    const headers = bambooHrHeaders(body, secret, unix);
    expectCode(() => verifyBambooHrWebhook(request({}), { secrets: [secret] }), 'HRIS_SIGNATURE_MISSING');
    const { 'x-bamboohr-signature': _s, ...noSignature } = headers;
    expectCode(() => verifyBambooHrWebhook(request(noSignature), { secrets: [secret] }), 'HRIS_SIGNATURE_MISSING');
    const { 'x-bamboohr-timestamp': _t, ...noTimestamp } = headers;
    expectCode(() => verifyBambooHrWebhook(request(noTimestamp), { secrets: [secret] }), 'HRIS_TIMESTAMP_INVALID');
  });

  it('accepts ISO-8601 timestamps, with or without a colon in the offset', () => {
    for (const iso of ['2026-03-02T14:05:09+0000', '2026-03-02T15:05:09+01:00', '2026-03-02T14:05:09Z', '2026-03-02T14:05:09.500Z']) {
      expect(() => verifyBambooHrWebhook(request(bambooHrHeaders(body, secret, iso)), { secrets: [secret] })).not.toThrow();
    }
  });

  it('refuses an authentic but unparseable or stale timestamp', () => {
    for (const bad of ['yesterday', '2026-03-02', '02/03/2026 14:05:09']) {
      expectCode(() => verifyBambooHrWebhook(request(bambooHrHeaders(body, secret, bad)), { secrets: [secret] }), 'HRIS_TIMESTAMP_INVALID');
    }
    const stale = String(now.getTime() / 1000 - 3600);
    expectCode(() => verifyBambooHrWebhook(request(bambooHrHeaders(body, secret, stale)), { secrets: [secret] }), 'HRIS_TIMESTAMP_INVALID');
    const future = '2026-03-02T14:15:09Z';
    expectCode(() => verifyBambooHrWebhook(request(bambooHrHeaders(body, secret, future)), { secrets: [secret] }), 'HRIS_TIMESTAMP_INVALID');
  });

  it('accepts the second of two keys during rotation', () => {
    const headers = bambooHrHeaders(body, secret, unix);
    expect(() => verifyBambooHrWebhook(request(headers), { secrets: ['old-key', secret] })).not.toThrow();
    expectCode(() => verifyBambooHrWebhook(request(headers), { secrets: ['old-key'] }), 'HRIS_SIGNATURE_INVALID');
  });

  it('signs body then timestamp with no separator, not the Stripe-style timestamp.body', () => {
    const stripeStyle = signBambooHr(`${unix}.${body.toString()}`, secret, '');
    expectCode(
      () => verifyBambooHrWebhook(request({ 'x-bamboohr-timestamp': unix, 'x-bamboohr-signature': stripeStyle }), { secrets: [secret] }),
      'HRIS_SIGNATURE_INVALID',
    );
  });

  it('refuses to run without a key', () => {
    expectCode(() => verifyBambooHrWebhook(request(bambooHrHeaders(body, secret, unix)), { secrets: [] }), 'CONFIG_SECRET_UNRESOLVED');
  });

  it('verifies any signed body and never one with a byte changed', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 2048 }),
        fc.string({ minLength: 1, maxLength: 64 }),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        (bytes, key, position, mask) => {
          const rawBody = Buffer.from(bytes);
          const headers = bambooHrHeaders(rawBody, key, unix);
          verifyBambooHrWebhook(request(headers, rawBody), { secrets: [key] });
          expectCode(
            () => verifyBambooHrWebhook(request(headers, flipByte(rawBody, position % rawBody.length, mask)), { secrets: [key] }),
            'HRIS_SIGNATURE_INVALID',
          );
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('parseBambooHrTimestamp', () => {
  it('reads Unix seconds and ISO-8601', () => {
    expect(parseBambooHrTimestamp('1772460309')).toBe(1772460309000);
    expect(parseBambooHrTimestamp('2026-03-02T14:05:09+0000')).toBe(1772460309000);
    expect(parseBambooHrTimestamp('2026-03-02T16:05:09+02:00')).toBe(1772460309000);
    expect(parseBambooHrTimestamp('2026-03-02 14:05:09Z')).toBe(1772460309000);
  });

  it('returns null for anything else', () => {
    for (const value of ['', ' 1772460309', '1772460309.5', '2026-03-02T14:05:09', '2026-13-45T99:99:99Z', 'NaN']) {
      expect(parseBambooHrTimestamp(value)).toBeNull();
    }
  });
});
