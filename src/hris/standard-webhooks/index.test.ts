import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { isBridgeError, type BridgeError } from '../../domain/errors.js';
import { newStandardWebhookSecret, standardWebhookHeaders } from '../../../test/helpers/signing.js';
import type { WebhookRequest } from '../source.js';
import { createStandardWebhooksSource } from './index.js';

const fixturesDir =
  process.env.HRIS_FIXTURES_DIR ?? path.resolve(import.meta.dirname, '../../../../shared/fixtures/hris');

const now = new Date('2026-12-04T10:00:30Z');
const ts = String(Math.floor(now.getTime() / 1000));

const designBody = {
  type: 'employee.upserted',
  timestamp: '2026-12-04T10:00:00Z',
  data: {
    id: 'E-1001',
    version: 17,
    status: 'active',
    givenName: 'Ada',
    familyName: 'Lovelace',
    preferredName: null,
    workEmail: 'ada.lovelace@example.com',
    title: 'Engineer',
    department: 'Engineering',
    division: 'R&D',
    costCenter: 'CC-42',
    location: 'London',
    employeeNumber: '1001',
    employmentType: 'full_time',
    managerId: 'E-1000',
    startDate: '2026-01-05',
    endDate: null,
    custom: {},
  },
};

function signed(body: unknown, secret: string, id = 'msg_1'): WebhookRequest {
  const rawBody = Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
  return { rawBody, headers: standardWebhookHeaders(id, ts, rawBody, secret), receivedAt: now };
}

function payloadError(fn: () => unknown): BridgeError {
  try {
    fn();
  } catch (error) {
    if (isBridgeError(error, 'HRIS_PAYLOAD_INVALID')) return error;
    throw error;
  }
  throw new Error('expected HRIS_PAYLOAD_INVALID');
}

function issuePaths(error: BridgeError): string[] {
  const issues = error.details.issues as { path: (string | number)[]; message: string }[];
  return issues.map((issue) => issue.path.join('.'));
}

describe('createStandardWebhooksSource', () => {
  const secret = newStandardWebhookSecret();
  const source = createStandardWebhooksSource({ name: 'hr', secrets: () => [secret] });

  it('describes itself', () => {
    expect(source.name).toBe('hr');
    expect(source.type).toBe('standard-webhooks');
    expect(source.fetchEmployee).toBeUndefined();
  });

  it('turns the DESIGN body into one full record', () => {
    const request = signed(designBody, secret);
    source.verify(request);
    const delivery = source.parse(request);
    expect(delivery.deliveryId).toBe('msg_1');
    expect(delivery.eventType).toBe('employee.upserted');
    expect(delivery.intake).toEqual({
      kind: 'records',
      records: [
        {
          ...designBody.data,
          sourceTimestamp: '2026-12-04T10:00:00Z',
        },
      ],
    });
  });

  it('fills absent optional fields with null and drops unknown keys', () => {
    const body = {
      type: 'employee.upserted',
      timestamp: '2026-12-04T10:00:00+01:00',
      extra: 'envelope keys are ignored',
      data: { id: 'E-2', status: 'pending', startDate: '2027-01-04', pronouns: 'she/her', nested: { a: 1 } },
    };
    const delivery = source.parse(signed(body, secret));
    expect(delivery.intake).toEqual({
      kind: 'records',
      records: [
        {
          id: 'E-2',
          version: null,
          sourceTimestamp: '2026-12-04T10:00:00+01:00',
          status: 'pending',
          givenName: null,
          familyName: null,
          preferredName: null,
          workEmail: null,
          title: null,
          department: null,
          division: null,
          costCenter: null,
          location: null,
          employeeNumber: null,
          employmentType: null,
          managerId: null,
          startDate: '2027-01-04',
          endDate: null,
          custom: null,
        },
      ],
    });
  });

  it('turns employee.deleted into a deleted intake that keeps ordering information', () => {
    const body = { type: 'employee.deleted', timestamp: '2026-12-04T10:00:00Z', data: { id: 'E-1001', version: 18 } };
    const delivery = source.parse(signed(body, secret, 'msg_del'));
    expect(delivery).toEqual({
      deliveryId: 'msg_del',
      eventType: 'employee.deleted',
      intake: { kind: 'deleted', employeeIds: ['E-1001'], version: 18, sourceTimestamp: '2026-12-04T10:00:00Z' },
    });
    const bare = source.parse(signed({ type: 'employee.deleted', timestamp: '2026-12-04T10:00:00Z', data: { id: 'E-3' } }, secret));
    expect(bare.intake).toEqual({ kind: 'deleted', employeeIds: ['E-3'], version: null, sourceTimestamp: '2026-12-04T10:00:00Z' });
  });

  it('ignores event types outside the employee namespace', () => {
    const delivery = source.parse(signed({ type: 'webhook.test', timestamp: '2026-12-04T10:00:00Z', data: {} }, secret));
    expect(delivery.intake.kind).toBe('ignore');
    expect(delivery.eventType).toBe('webhook.test');
  });

  it('refuses unknown employee events, such as the shared fixture, naming the type', () => {
    const rawBody = readFileSync(path.join(fixturesDir, 'standardwebhooks-employee.terminated.json'));
    const meta = JSON.parse(
      readFileSync(path.join(fixturesDir, 'standardwebhooks-employee.terminated.headers.json'), 'utf8'),
    ) as { headers: Record<string, string>; _fixture: { secret: string } };
    const headers = Object.fromEntries(Object.entries(meta.headers).map(([k, v]) => [k.toLowerCase(), v]));
    const fixtureSource = createStandardWebhooksSource({ name: 'hr', secrets: () => [meta._fixture.secret] });
    const request = { rawBody, headers, receivedAt: new Date(Number(headers['webhook-timestamp']) * 1000) };
    fixtureSource.verify(request);
    const error = payloadError(() => fixtureSource.parse(request));
    expect(issuePaths(error)).toEqual(['type']);
    expect(error.status).toBe(400);
  });

  it('names the path of every invalid field', () => {
    const body = {
      ...designBody,
      data: { ...designBody.data, status: 'retired', version: 1.5, startDate: '05/01/2026', workEmail: 'x'.repeat(1025) },
    };
    const error = payloadError(() => source.parse(signed(body, secret)));
    expect(issuePaths(error).sort()).toEqual(['data.startDate', 'data.status', 'data.version', 'data.workEmail']);
    const issues = error.details.issues as { message: string }[];
    expect(issues.every((issue) => typeof issue.message === 'string' && issue.message.length > 0)).toBe(true);
  });

  it('requires an id, a status and an envelope timestamp', () => {
    const error = payloadError(() =>
      source.parse(signed({ type: 'employee.upserted', timestamp: 'yesterday', data: { givenName: 'Ada' } }, secret)),
    );
    expect(issuePaths(error).sort()).toEqual(['data.id', 'data.status', 'timestamp']);
  });

  it('limits the size of custom', () => {
    const body = { ...designBody, data: { ...designBody.data, custom: { blob: 'x'.repeat(20_000) } } };
    expect(issuePaths(payloadError(() => source.parse(signed(body, secret))))).toEqual(['data.custom']);
  });

  it('refuses bodies that are not JSON objects or not UTF-8', () => {
    expect(issuePaths(payloadError(() => source.parse(signed('not json', secret))))).toEqual(['']);
    expect(issuePaths(payloadError(() => source.parse(signed('[1,2]', secret))))).toEqual(['']);
    const rawBody = Buffer.from([0x7b, 0xff, 0x7d]);
    const request = { rawBody, headers: standardWebhookHeaders('msg_1', ts, rawBody, secret), receivedAt: now };
    expect(payloadError(() => source.parse(request)).details.issues).toEqual([{ path: [], message: 'body is not valid UTF-8' }]);
  });

  it('refuses a delivery id that cannot serve as a dedupe key', () => {
    const rawBody = Buffer.from(JSON.stringify(designBody));
    const request = { rawBody, headers: standardWebhookHeaders('x'.repeat(300), ts, rawBody, secret), receivedAt: now };
    expect(issuePaths(payloadError(() => source.parse(request)))).toEqual(['headers.webhook-id']);
  });

  it('reads secrets on every request so rotation needs no restart', () => {
    let current = [newStandardWebhookSecret()];
    const rotating = createStandardWebhooksSource({ name: 'hr', secrets: () => current });
    const request = signed(designBody, secret);
    expect(() => rotating.verify(request)).toThrow();
    current = [current[0] ?? '', secret];
    expect(() => rotating.verify(request)).not.toThrow();
  });

  it('applies the configured tolerance', () => {
    const strict = createStandardWebhooksSource({ name: 'hr', secrets: () => [secret], toleranceSeconds: 10 });
    const request = signed(designBody, secret);
    expect(() => strict.verify({ ...request, receivedAt: new Date(now.getTime() + 11_000) })).toThrow(
      expect.objectContaining({ code: 'HRIS_TIMESTAMP_INVALID' }),
    );
  });
});
