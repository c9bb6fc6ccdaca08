import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { isBridgeError, type BridgeError } from '../../domain/errors.js';
import { startFakeBambooHr, type FakeBambooHr } from '../../../test/helpers/fake-bamboohr.js';
import { parseRetryAfter } from '../../domain/retry-after.js';
import { createBambooHrClient, employeeFields } from './client.js';

const apiKey = 'secret-api-key-0123456789abcdef';

async function rejection(promise: Promise<unknown>): Promise<BridgeError> {
  try {
    await promise;
  } catch (error) {
    if (isBridgeError(error)) return error;
    throw error;
  }
  throw new Error('expected a BridgeError');
}

function expectNoKey(error: BridgeError): void {
  const basic = Buffer.from(`${apiKey}:x`).toString('base64');
  const text = [error.message, String(error), JSON.stringify(error), JSON.stringify(error.details), String(error.cause ?? '')].join('\n');
  expect(text).not.toContain(apiKey);
  expect(text).not.toContain(basic);
}

describe('BambooHR client against the fake API', () => {
  let fake: FakeBambooHr;

  beforeAll(async () => {
    fake = await startFakeBambooHr({ apiKey, companyDomain: 'acme' });
  });
  afterAll(async () => {
    await fake.close();
  });
  beforeEach(() => {
    fake.requests.length = 0;
    fake.employees.clear();
    fake.apiKey = apiKey;
  });

  const client = (overrides: Partial<Parameters<typeof createBambooHrClient>[0]> = {}) =>
    createBambooHrClient({ apiKey: () => apiKey, companyDomain: 'acme', apiBaseUrl: fake.baseUrl, ...overrides });

  it('reads one employee with Basic auth, JSON accept and the field list', async () => {
    fake.setEmployee('1042', { firstName: 'Testy', lastName: 'McFixture', status: 'Active', supervisorEId: '7' });
    const employee = await client().getEmployee('1042');
    expect(employee).toMatchObject({ id: '1042', firstName: 'Testy', lastName: 'McFixture', status: 'Active', supervisorEId: '7' });
    const [sent] = fake.requests;
    expect(sent?.method).toBe('GET');
    expect(sent?.path).toBe('/api/gateway.php/acme/v1/employees/1042/');
    expect(sent?.authorization).toBe(`Basic ${Buffer.from(`${apiKey}:x`).toString('base64')}`);
    expect(sent?.accept).toBe('application/json');
    expect(sent?.fields).toEqual([...employeeFields]);
  });

  it('requests extra fields when configured', async () => {
    fake.setEmployee('1', { customCostCenter: 'CC-1' });
    const employee = await client({ extraFields: ['customCostCenter'] }).getEmployee('1');
    expect(employee?.customCostCenter).toBe('CC-1');
    expect(fake.requests[0]?.fields.at(-1)).toBe('customCostCenter');
  });

  it('tolerates a trailing slash on the base URL', async () => {
    fake.setEmployee('1', { firstName: 'A' });
    await client({ apiBaseUrl: `${fake.baseUrl}/` }).getEmployee('1');
    expect(fake.requests[0]?.path).toBe('/api/gateway.php/acme/v1/employees/1/');
  });

  it('returns null for an unknown employee', async () => {
    expect(await client().getEmployee('404')).toBeNull();
  });

  it('reports a refused key as rejected, without the key', async () => {
    fake.apiKey = 'another-key';
    const error = await rejection(client().getEmployee('1'));
    expect(error.code).toBe('HRIS_FETCH_REJECTED');
    expect(error.kind).toBe('config');
    expect(error.details.status).toBe(401);
    expectNoKey(error);
  });

  it('reports 503 as transient and recovers on the next request', async () => {
    fake.setEmployee('1', { firstName: 'A' });
    fake.failNext(1, 503);
    const error = await rejection(client().getEmployee('1'));
    expect(error.code).toBe('HRIS_FETCH_FAILED');
    expect(error.kind).toBe('transient');
    expect(error.details.status).toBe(503);
    expectNoKey(error);
    expect(await client().getEmployee('1')).toMatchObject({ firstName: 'A' });
  });

  it('passes Retry-After of a 429 on', async () => {
    fake.failNext(1, 429, { retryAfter: '17' });
    const error = await rejection(client().getEmployee('1'));
    expect(error.code).toBe('HRIS_FETCH_FAILED');
    expect(error.details.status).toBe(429);
    expect(error.retryAfterSeconds).toBe(17);
    fake.failNext(1, 429);
    expect((await rejection(client().getEmployee('1'))).retryAfterSeconds).toBeUndefined();
  });

  it('reports a timeout as transient', async () => {
    fake.hangNext(1);
    const error = await rejection(client({ timeoutMs: 200 }).getEmployee('1'));
    expect(error.code).toBe('HRIS_FETCH_FAILED');
    expect(error.details.reason).toBe('timeout');
    expectNoKey(error);
  });

  it('reports a closed port as transient, without the key', async () => {
    const error = await rejection(client({ apiBaseUrl: 'http://127.0.0.1:1' }).getEmployee('1'));
    expect(error.code).toBe('HRIS_FETCH_FAILED');
    expectNoKey(error);
  });

  it('refuses ids that are not BambooHR ids before sending anything', async () => {
    const error = await rejection(client().getEmployee('../../v1/meta'));
    expect(error.code).toBe('HRIS_EMPLOYEE_INVALID');
    expect(fake.requests).toHaveLength(0);
  });

  it('reads the API key on every request', async () => {
    let key = 'old';
    fake.setEmployee('1', { firstName: 'A' });
    const rotating = client({ apiKey: () => key });
    expect((await rejection(rotating.getEmployee('1'))).code).toBe('HRIS_FETCH_REJECTED');
    key = apiKey;
    expect(await rotating.getEmployee('1')).toMatchObject({ firstName: 'A' });
  });
});

describe('parseRetryAfter', () => {
  it('reads seconds and HTTP dates', () => {
    const now = Date.parse('2026-03-02T14:05:00Z');
    expect(parseRetryAfter('30', now)).toBe(30);
    expect(parseRetryAfter('Mon, 02 Mar 2026 14:05:30 GMT', now)).toBe(30);
    expect(parseRetryAfter('Mon, 02 Mar 2026 14:04:30 GMT', now)).toBe(0);
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
    expect(parseRetryAfter('soon', now)).toBeUndefined();
  });
});
