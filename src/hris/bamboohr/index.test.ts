import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isBridgeError, type BridgeError } from '../../domain/errors.js';
import { startFakeBambooHr, type FakeBambooHr } from '../../../test/helpers/fake-bamboohr.js';
import { bambooHrHeaders } from '../../../test/helpers/signing.js';
import type { WebhookRequest } from '../source.js';
import { createBambooHrSource } from './index.js';

const fixturesDir =
  process.env.HRIS_FIXTURES_DIR ?? path.resolve(import.meta.dirname, '../../../../shared/fixtures/hris');

function fixtureRequest(name: string): { request: WebhookRequest; secret: string } {
  const rawBody = readFileSync(path.join(fixturesDir, `${name}.json`));
  const meta = JSON.parse(readFileSync(path.join(fixturesDir, `${name}.headers.json`), 'utf8')) as {
    headers: Record<string, string>;
    _fixture: { secret: string };
  };
  const headers = Object.fromEntries(Object.entries(meta.headers).map(([k, v]) => [k.toLowerCase(), v]));
  const receivedAt = new Date(Number(headers['x-bamboohr-timestamp']) * 1000);
  return { request: { rawBody, headers, receivedAt }, secret: meta._fixture.secret };
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
  return (error.details.issues as { path: (string | number)[] }[]).map((issue) => issue.path.join('.'));
}

const secret = 'bhr-private-key';
const now = new Date('2026-03-02T14:05:09Z');
const unix = String(now.getTime() / 1000);

function signed(body: unknown): WebhookRequest {
  const rawBody = Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
  return { rawBody, headers: bambooHrHeaders(rawBody, secret, unix), receivedAt: now };
}

describe('createBambooHrSource: webhooks', () => {
  const source = createBambooHrSource({
    name: 'bamboo',
    secrets: () => [secret],
    apiKey: () => 'unused',
    companyDomain: 'acme',
  });

  it('describes itself', () => {
    expect(source.name).toBe('bamboo');
    expect(source.type).toBe('bamboohr');
    expect(typeof source.fetchEmployee).toBe('function');
  });

  it('turns the event-based fixture into a fetch of the employee', () => {
    const { request, secret: fixtureSecret } = fixtureRequest('bamboohr-employee.updated');
    const fixtureSource = createBambooHrSource({ name: 'b', secrets: () => [fixtureSecret], apiKey: () => 'k', companyDomain: 'acme' });
    fixtureSource.verify(request);
    const delivery = fixtureSource.parse(request);
    expect(delivery.eventType).toBe('employee.updated');
    expect(delivery.intake).toEqual({ kind: 'fetch', employeeIds: ['1042'] });
    const expectedId = createHash('sha256')
      .update(Buffer.concat([Buffer.from(`${request.headers['x-bamboohr-timestamp'] ?? ''}\n`), request.rawBody]))
      .digest('hex');
    expect(delivery.deliveryId).toBe(expectedId);
  });

  it('turns the field-based fixture into a fetch of the employee', () => {
    const { request, secret: fixtureSecret } = fixtureRequest('bamboohr-employee_with_fields.updated');
    const fixtureSource = createBambooHrSource({ name: 'b', secrets: () => [fixtureSecret], apiKey: () => 'k', companyDomain: 'acme' });
    fixtureSource.verify(request);
    const delivery = fixtureSource.parse(request);
    expect(delivery.eventType).toBe('employee_with_fields.updated');
    expect(delivery.intake).toEqual({ kind: 'fetch', employeeIds: ['1042'] });
    expect(delivery.deliveryId).toMatch(/^[0-9a-f]{64}$/);
  });

  it('gives the same delivery id to the same bytes and a different one otherwise', () => {
    const body = { type: 'employee.created', timestamp: '2026-03-02T14:05:09+0000', data: { companyId: '1', employeeId: '8' } };
    const first = source.parse(signed(body));
    expect(source.parse(signed(body)).deliveryId).toBe(first.deliveryId);
    const later = signed(body);
    const moved = { ...later, headers: { ...later.headers, 'x-bamboohr-timestamp': String(Number(unix) + 1) } };
    expect(source.parse(moved).deliveryId).not.toBe(first.deliveryId);
  });

  it('fetches deleted employees too, so that the API decides', () => {
    const body = { type: 'employee.deleted', timestamp: '2026-03-02T14:05:09+0000', data: { companyId: 1, employeeId: 9 } };
    expect(source.parse(signed(body)).intake).toEqual({ kind: 'fetch', employeeIds: ['9'] });
    const batch = { employees: [{ id: '9', action: 'Deleted', timestamp: '2026-03-02T14:05:09+0000', changedFields: [], fields: {} }] };
    const delivery = source.parse(signed(batch));
    expect(delivery.intake).toEqual({ kind: 'fetch', employeeIds: ['9'] });
    expect(delivery.eventType).toBe('employee_with_fields.deleted');
  });

  it('fetches every employee of a batch once', () => {
    const batch = {
      employees: [
        { id: '1', action: 'Created', timestamp: 't', changedFields: [], fields: {} },
        { id: '2', action: 'Updated', timestamp: 't', changedFields: ['Status'], fields: { Status: 'Inactive' } },
        { id: '1', action: 'Updated', timestamp: 't', changedFields: ['Job Title'], fields: {} },
      ],
    };
    const delivery = source.parse(signed(batch));
    expect(delivery.intake).toEqual({ kind: 'fetch', employeeIds: ['1', '2'] });
    expect(delivery.eventType).toBe('employee_with_fields.batch');
    expect(source.parse(signed({ employees: [] })).intake.kind).toBe('ignore');
  });

  it('acts on employee events it does not know yet and ignores other namespaces', () => {
    const body = { type: 'employee.rehired', data: { companyId: '1', employeeId: '3' } };
    expect(source.parse(signed(body)).intake).toEqual({ kind: 'fetch', employeeIds: ['3'] });
    expect(source.parse(signed({ type: 'timeoff.approved', data: {} })).intake.kind).toBe('ignore');
  });

  it('names the path of payload errors', () => {
    expect(issuePaths(payloadError(() => source.parse(signed({ type: 'employee.updated', data: { companyId: '1' } }))))).toEqual([
      'data.employeeId',
    ]);
    expect(
      issuePaths(payloadError(() => source.parse(signed({ type: 'employee.updated', data: { employeeId: '../admin' } })))),
    ).toEqual(['data.employeeId']);
    expect(issuePaths(payloadError(() => source.parse(signed({ employees: [{ id: '1' }, { action: 'Updated' }] }))))).toEqual([
      'employees.1.id',
    ]);
    expect(issuePaths(payloadError(() => source.parse(signed({ employees: 'all' }))))).toEqual(['employees']);
    expect(issuePaths(payloadError(() => source.parse(signed({ type: 7 }))))).toEqual(['type']);
    expect(issuePaths(payloadError(() => source.parse(signed({ hello: 'world' }))))).toEqual(['']);
    expect(issuePaths(payloadError(() => source.parse(signed('data[companyId]=1&data[employeeId]=2'))))).toEqual(['']);
  });
});

describe('createBambooHrSource: fetchEmployee', () => {
  let fake: FakeBambooHr;
  const apiKey = 'fetch-test-api-key';
  const fetchedAt = new Date('2026-03-02T14:05:09.000Z');

  beforeAll(async () => {
    fake = await startFakeBambooHr({ apiKey, companyDomain: 'acme' });
  });
  afterAll(async () => {
    await fake.close();
  });

  const source = () =>
    createBambooHrSource({
      name: 'bamboo',
      secrets: () => [secret],
      apiKey: () => apiKey,
      companyDomain: 'acme',
      apiBaseUrl: fake.baseUrl,
      costCenterField: 'customCostCenter',
      now: () => fetchedAt,
    });

  it('reads and normalises the employee', async () => {
    fake.setEmployee('1042', {
      firstName: 'Testy',
      lastName: 'McFixture',
      workEmail: 'testy.mcfixture@example.test',
      status: 'Active',
      employmentHistoryStatus: 'Leave of Absence',
      hireDate: '2020-01-06',
      terminationDate: '0000-00-00',
      supervisorEId: '7',
      customCostCenter: 'CC-42',
    });
    const record = await source().fetchEmployee?.('1042');
    expect(record).toMatchObject({
      id: '1042',
      status: 'leave',
      givenName: 'Testy',
      familyName: 'McFixture',
      managerId: '7',
      costCenter: 'CC-42',
      startDate: '2020-01-06',
      endDate: null,
      sourceTimestamp: '2026-03-02T14:05:09.000Z',
    });
  });

  it('returns null when the employee no longer exists', async () => {
    expect(await source().fetchEmployee?.('999')).toBeNull();
  });

  it('passes transient failures on', async () => {
    fake.failNext(1, 503);
    await expect(source().fetchEmployee?.('1042')).rejects.toMatchObject({ code: 'HRIS_FETCH_FAILED' });
  });
});
