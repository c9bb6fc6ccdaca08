import { readFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isBridgeError, type ErrorCode } from '../../domain/errors.js';
import { newStandardWebhookSecret, signStandardWebhook, standardWebhookHeaders } from '../../../test/helpers/signing.js';
import type { WebhookRequest } from '../source.js';
import { verifyStandardWebhook } from './verify.js';

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

const fixture = loadFixture('standardwebhooks-employee.terminated');
const fixtureTime = new Date(Number(fixture.headers['webhook-timestamp']) * 1000);

function fixtureRequest(overrides: Partial<WebhookRequest> = {}): WebhookRequest {
  return { rawBody: fixture.rawBody, headers: fixture.headers, receivedAt: fixtureTime, ...overrides };
}

describe('verifyStandardWebhook with the shared fixture', () => {
  it('accepts the signed fixture at its own timestamp', () => {
    expect(() => verifyStandardWebhook(fixtureRequest(), { secrets: [fixture.secret] })).not.toThrow();
  });

  it('accepts it up to the tolerance on either side and refuses it beyond', () => {
    const at = (seconds: number) => new Date(fixtureTime.getTime() + seconds * 1000);
    for (const offset of [-300, 300]) {
      expect(() =>
        verifyStandardWebhook(fixtureRequest({ receivedAt: at(offset) }), { secrets: [fixture.secret] }),
      ).not.toThrow();
    }
    for (const offset of [-301, 301]) {
      expectCode(
        () => verifyStandardWebhook(fixtureRequest({ receivedAt: at(offset) }), { secrets: [fixture.secret] }),
        'HRIS_TIMESTAMP_INVALID',
      );
    }
  });

  it('honours a configured tolerance', () => {
    const later = new Date(fixtureTime.getTime() + 61_000);
    expectCode(
      () => verifyStandardWebhook(fixtureRequest({ receivedAt: later }), { secrets: [fixture.secret], toleranceSeconds: 60 }),
      'HRIS_TIMESTAMP_INVALID',
    );
  });

  it('refuses a flipped byte anywhere in the body', () => {
    for (const index of [0, Math.floor(fixture.rawBody.length / 2), fixture.rawBody.length - 1]) {
      expectCode(
        () => verifyStandardWebhook(fixtureRequest({ rawBody: flipByte(fixture.rawBody, index) }), { secrets: [fixture.secret] }),
        'HRIS_SIGNATURE_INVALID',
      );
    }
  });

  it('refuses a body with one byte appended', () => {
    const longer = Buffer.concat([fixture.rawBody, Buffer.from('\n')]);
    expectCode(() => verifyStandardWebhook(fixtureRequest({ rawBody: longer }), { secrets: [fixture.secret] }), 'HRIS_SIGNATURE_INVALID');
  });

  it('refuses a changed timestamp or id even when still within tolerance', () => {
    const ts = fixture.headers['webhook-timestamp'] ?? '';
    const shifted = `${ts.slice(0, -1)}${String((Number(ts.at(-1)) + 1) % 10)}`;
    expectCode(
      () => verifyStandardWebhook(fixtureRequest({ headers: { ...fixture.headers, 'webhook-timestamp': shifted } }), { secrets: [fixture.secret] }),
      'HRIS_SIGNATURE_INVALID',
    );
    expectCode(
      () =>
        verifyStandardWebhook(fixtureRequest({ headers: { ...fixture.headers, 'webhook-id': `${fixture.headers['webhook-id'] ?? ''}x` } }), {
          secrets: [fixture.secret],
        }),
      'HRIS_SIGNATURE_INVALID',
    );
  });

  it('refuses every single-character change of the signature, including base64 padding bits', () => {
    const header = fixture.headers['webhook-signature'] ?? '';
    const value = header.slice('v1,'.length);
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
    for (let i = 0; i < value.length; i += 1) {
      if (value[i] === '=') continue;
      const replacement = alphabet[(alphabet.indexOf(value[i] ?? 'A') + 1) % 64] ?? 'A';
      const mutated = `v1,${value.slice(0, i)}${replacement}${value.slice(i + 1)}`;
      expectCode(
        () => verifyStandardWebhook(fixtureRequest({ headers: { ...fixture.headers, 'webhook-signature': mutated } }), { secrets: [fixture.secret] }),
        'HRIS_SIGNATURE_INVALID',
      );
    }
  });

  it('refuses the fixture under a different secret', () => {
    expectCode(() => verifyStandardWebhook(fixtureRequest(), { secrets: [newStandardWebhookSecret()] }), 'HRIS_SIGNATURE_INVALID');
  });

  it('accepts the same values under the svix-* header names', () => {
    const headers = {
      'svix-id': fixture.headers['webhook-id'] ?? '',
      'svix-timestamp': fixture.headers['webhook-timestamp'] ?? '',
      'svix-signature': fixture.headers['webhook-signature'] ?? '',
    };
    expect(() => verifyStandardWebhook(fixtureRequest({ headers }), { secrets: [fixture.secret] })).not.toThrow();
  });
});

describe('verifyStandardWebhook header handling', () => {
  const secret = newStandardWebhookSecret();
  const body = Buffer.from('{"type":"employee.deleted","timestamp":"2026-12-04T10:00:00Z","data":{"id":"E-1"}}');
  const now = new Date('2026-12-04T10:00:00Z');
  const ts = String(now.getTime() / 1000);
  const request = (headers: Record<string, string>): WebhookRequest => ({ rawBody: body, headers, receivedAt: now });

  it('reports missing headers as a missing signature', () => {
    const headers = standardWebhookHeaders('msg_1', ts, body, secret);
    expectCode(() => verifyStandardWebhook(request({}), { secrets: [secret] }), 'HRIS_SIGNATURE_MISSING');
    const { 'webhook-signature': _s, ...noSignature } = headers;
    expectCode(() => verifyStandardWebhook(request(noSignature), { secrets: [secret] }), 'HRIS_SIGNATURE_MISSING');
    const { 'webhook-id': _i, ...noId } = headers;
    expectCode(() => verifyStandardWebhook(request(noId), { secrets: [secret] }), 'HRIS_SIGNATURE_MISSING');
    expectCode(() => verifyStandardWebhook(request({ ...headers, 'webhook-signature': '' }), { secrets: [secret] }), 'HRIS_SIGNATURE_MISSING');
  });

  it('reports a missing or malformed timestamp as invalid', () => {
    const { 'webhook-timestamp': _t, ...noTimestamp } = standardWebhookHeaders('msg_1', ts, body, secret);
    expectCode(() => verifyStandardWebhook(request(noTimestamp), { secrets: [secret] }), 'HRIS_TIMESTAMP_INVALID');
    const isoTs = '2026-12-04T10:00:00Z';
    expectCode(
      () => verifyStandardWebhook(request(standardWebhookHeaders('msg_1', isoTs, body, secret)), { secrets: [secret] }),
      'HRIS_TIMESTAMP_INVALID',
    );
  });

  it('does not mix webhook-* and svix-* header families', () => {
    const headers = standardWebhookHeaders('msg_1', ts, body, secret);
    const mixed = { 'webhook-id': 'msg_1', 'svix-timestamp': ts, 'svix-signature': headers['webhook-signature'] ?? '' };
    expectCode(() => verifyStandardWebhook(request(mixed), { secrets: [secret] }), 'HRIS_SIGNATURE_MISSING');
  });

  it('accepts a second secret during rotation and refuses once it is removed', () => {
    const oldSecret = newStandardWebhookSecret();
    const headers = standardWebhookHeaders('msg_1', ts, body, secret);
    expect(() => verifyStandardWebhook(request(headers), { secrets: [oldSecret, secret] })).not.toThrow();
    expectCode(() => verifyStandardWebhook(request(headers), { secrets: [oldSecret] }), 'HRIS_SIGNATURE_INVALID');
  });

  it('accepts a secret without the whsec_ prefix', () => {
    const headers = standardWebhookHeaders('msg_1', ts, body, secret);
    expect(() => verifyStandardWebhook(request(headers), { secrets: [secret.slice('whsec_'.length)] })).not.toThrow();
  });

  it('refuses to run without a usable secret', () => {
    const headers = standardWebhookHeaders('msg_1', ts, body, secret);
    expectCode(() => verifyStandardWebhook(request(headers), { secrets: [] }), 'CONFIG_SECRET_UNRESOLVED');
    expectCode(() => verifyStandardWebhook(request(headers), { secrets: ['whsec_not base64!'] }), 'CONFIG_SECRET_UNRESOLVED');
  });

  it('accepts when any of several signatures matches and skips unknown versions', () => {
    const good = signStandardWebhook('msg_1', ts, body, secret);
    const other = signStandardWebhook('msg_1', ts, body, newStandardWebhookSecret());
    const headers = { 'webhook-id': 'msg_1', 'webhook-timestamp': ts };
    expect(() =>
      verifyStandardWebhook(request({ ...headers, 'webhook-signature': `v1a,AAAA ${other} ${good}` }), { secrets: [secret] }),
    ).not.toThrow();
    expectCode(
      () => verifyStandardWebhook(request({ ...headers, 'webhook-signature': `v1a,${good.slice(3)} ${other}` }), { secrets: [secret] }),
      'HRIS_SIGNATURE_INVALID',
    );
    expectCode(
      () => verifyStandardWebhook(request({ ...headers, 'webhook-signature': `v2,${good.slice(3)}` }), { secrets: [secret] }),
      'HRIS_SIGNATURE_INVALID',
    );
  });

  it('refuses an oversized list of signatures', () => {
    const good = signStandardWebhook('msg_1', ts, body, secret);
    const many = Array.from({ length: 20 }, () => 'v1,AAAA').join(' ');
    expectCode(
      () =>
        verifyStandardWebhook(request({ 'webhook-id': 'msg_1', 'webhook-timestamp': ts, 'webhook-signature': `${many} ${good}` }), {
          secrets: [secret],
        }),
      'HRIS_SIGNATURE_INVALID',
    );
  });
});

describe('verifyStandardWebhook properties', () => {
  const secret = newStandardWebhookSecret(24);
  const now = new Date('2026-12-04T10:00:00Z');
  const ts = String(now.getTime() / 1000);

  it('verifies any signed body and never a body with one byte changed', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 2048 }),
        fc.string({ minLength: 1, maxLength: 40 }).filter((s) => /^[\x21-\x7e]+$/.test(s)),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        (bytes, id, position, mask) => {
          const rawBody = Buffer.from(bytes);
          const headers = standardWebhookHeaders(id, ts, rawBody, secret);
          verifyStandardWebhook({ rawBody, headers, receivedAt: now }, { secrets: [secret] });
          const mutated = flipByte(rawBody, position % rawBody.length, mask);
          expectCode(
            () => verifyStandardWebhook({ rawBody: mutated, headers, receivedAt: now }, { secrets: [secret] }),
            'HRIS_SIGNATURE_INVALID',
          );
        },
      ),
      { numRuns: 300 },
    );
  });
});
