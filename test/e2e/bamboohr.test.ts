import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBridge, type BridgeHarness } from '../helpers/bridge.js';
import { startFakeBambooHr, type FakeBambooHr, type FakeEmployeeFields } from '../helpers/fake-bamboohr.js';
import { startScimServer, type ScimServerHandle } from '../helpers/scim-servers/index.js';
import { bambooHrHeaders } from '../helpers/signing.js';

const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const SECRET = 'bhr-e2e-webhook-private-key';
const API_KEY = 'bhr-e2e-api-key';
const COMPANY_ID = '48213';
type Json = Record<string, unknown>;

/** A BambooHR employee as the API holds it, with the field names the source requests. */
function person(id: string, over: FakeEmployeeFields = {}): FakeEmployeeFields {
  return {
    firstName: 'Test',
    lastName: `Person${id}`,
    preferredName: null,
    workEmail: `person${id}@example.com`,
    jobTitle: 'Engineer',
    department: 'Engineering',
    division: 'R&D',
    location: 'London',
    employeeNumber: id,
    status: 'Active',
    employmentHistoryStatus: 'Full-Time',
    hireDate: '2026-01-05',
    terminationDate: null,
    supervisorEId: null,
    ...over,
  };
}

describe.each(['better-auth', 'scimmy'] as const)('BambooHR to %s, end to end', (kind) => {
  let scim: ScimServerHandle;
  let hr: FakeBambooHr;
  let bridge: BridgeHarness;

  const byExternalId = async () => new Map((await scim.listUsers()).map((u) => [u.externalId as string, u]));
  const groupMembers = async (name: string) => {
    const g = (await scim.listGroups()).find((x) => x.displayName === name);
    return g ? ((g.members as Array<{ value: string }> | undefined) ?? []).map((m) => m.value).sort() : null;
  };
  const managerOf = (user: Json | undefined) => ((user?.[ENTERPRISE] as Json | undefined)?.manager as Json | undefined)?.value;
  const fetchesOf = (id: string) => hr.requests.filter((r) => r.path === `/api/gateway.php/acme/v1/employees/${id}/`).length;

  const isoNow = () => new Date(bridge.clock.now()).toISOString().replace(/\.\d{3}Z$/, '+0000');
  const event = (type: string, employeeId: string, changedFields?: string[]): Json => ({
    type,
    timestamp: isoNow(),
    data: { companyId: COMPANY_ID, employeeId, ...(changedFields ? { changedFields } : {}) },
  });
  /** Signs the exact bytes that are posted, as BambooHR does: hex HMAC of body + timestamp header. */
  const signed = (body: Json, secret = SECRET) => {
    const raw = JSON.stringify(body);
    return { raw, headers: bambooHrHeaders(raw, secret, String(Math.floor(bridge.clock.now() / 1000))) };
  };
  const deliver = async (body: Json) => {
    const { raw, headers } = signed(body);
    return bridge.post('/webhooks/bamboo', headers, raw);
  };
  /**
   * Fetched records are ordered by fetch time, so HR changes are a minute apart as in a real account;
   * a minute is also well past the backoff of a fetch's first retries.
   */
  const later = () => bridge.clock.set(bridge.clock.now() + 60_000);

  beforeAll(async () => {
    scim = await startScimServer(kind);
    hr = await startFakeBambooHr({ apiKey: API_KEY, companyDomain: 'acme' });
    bridge = await startBridge({
      targets: [{ name: 'app', baseUrl: scim.baseUrl, token: scim.token }],
      sources: [{ name: 'bamboo', type: 'bamboohr', secret: SECRET, apiKey: API_KEY, companyDomain: 'acme', apiBaseUrl: hr.baseUrl }],
    });
  });
  afterAll(async () => {
    await bridge?.close();
    await hr?.close();
    await scim?.stop();
  });

  it('backfills the manager reference when the manager is hired after the report', async () => {
    hr.setEmployee('2', person('2', { firstName: 'Grace', lastName: 'Hopper', supervisorEId: '1' }));
    const created = await deliver(event('employee.created', '2'));
    expect(created.status).toBe(202);
    await bridge.settle();
    expect(fetchesOf('2')).toBe(1);
    let users = await byExternalId();
    expect(users.get('2')?.active).toBe(true);
    expect(managerOf(users.get('2'))).toBeUndefined();

    later();
    hr.setEmployee('1', person('1', { firstName: 'Ada', lastName: 'Lovelace', jobTitle: 'CTO' }));
    expect((await deliver(event('employee.created', '1'))).status).toBe(202);
    await bridge.settle();
    users = await byExternalId();
    const manager = users.get('1')!;
    expect(manager.title).toBe('CTO');
    expect(managerOf(users.get('2'))).toBe(manager.id);
    expect(await groupMembers('dept-engineering')).toEqual([manager.id as string, users.get('2')!.id as string].sort());
  });

  it('moves a mover to the new department group and title', async () => {
    later();
    hr.setEmployee('2', person('2', { firstName: 'Grace', lastName: 'Hopper', supervisorEId: '1', department: 'Product Design', jobTitle: 'Designer' }));
    expect((await deliver(event('employee.updated', '2', ['department', 'jobTitle']))).status).toBe(202);
    await bridge.settle();
    const users = await byExternalId();
    const e2 = users.get('2')!;
    expect(e2.title).toBe('Designer');
    expect((e2[ENTERPRISE] as Json).department).toBe('Product Design');
    expect(managerOf(e2)).toBe(users.get('1')!.id);
    expect(await groupMembers('dept-product-design')).toEqual([e2.id]);
    expect(await groupMembers('dept-engineering')).toEqual([users.get('1')!.id]);
  });

  it('acknowledges a redelivery of the same bytes as a duplicate, with no second fetch or write', async () => {
    later();
    hr.setEmployee('3', person('3', { jobTitle: 'Analyst', supervisorEId: '1' }));
    const { raw, headers } = signed(event('employee.created', '3'));
    const first = await bridge.post('/webhooks/bamboo', headers, raw);
    expect(first.status).toBe(202);
    await bridge.settle();
    const fetches = fetchesOf('3');
    expect(fetches).toBe(1);
    const before = (await byExternalId()).get('3')!;

    const again = await bridge.post('/webhooks/bamboo', headers, raw);
    expect(again.status).toBe(200);
    expect(again.body.status).toBe('duplicate');
    expect(again.body.deliveryId).toBe(first.body.deliveryId);
    expect(await bridge.settle()).toBe(0);
    expect(fetchesOf('3')).toBe(fetches);
    const users = await byExternalId();
    expect([...users.keys()].filter((k) => k === '3')).toHaveLength(1);
    expect(users.get('3')).toEqual(before);
  });

  it('creates no account for a pending hire whose hire date lies ahead', async () => {
    later();
    hr.setEmployee('4', person('4', { hireDate: '2027-01-04' }));
    expect((await deliver(event('employee.created', '4'))).status).toBe(202);
    await bridge.settle();
    expect(fetchesOf('4')).toBe(1);
    expect((await byExternalId()).has('4')).toBe(false);
  });

  it('deactivates leavers, whichever BambooHR field records the termination, and takes them out of groups', async () => {
    later();
    hr.setEmployee('5', person('5', { firstName: 'Leaving', supervisorEId: '1' }));
    hr.setEmployee('6', person('6', { firstName: 'Removed' }));
    await deliver(event('employee.created', '5'));
    await deliver(event('employee.created', '6'));
    await bridge.settle();
    let users = await byExternalId();
    expect(await groupMembers('dept-engineering')).toEqual(['1', '3', '5', '6'].map((id) => users.get(id)!.id as string).sort());

    later();
    const terminated = { status: 'Inactive', employmentHistoryStatus: 'Terminated', terminationDate: '2026-12-04' };
    hr.setEmployee('2', person('2', { firstName: 'Grace', lastName: 'Hopper', supervisorEId: '1', department: 'Product Design', jobTitle: 'Designer', ...terminated }));
    await deliver(event('employee.updated', '2', ['status', 'employmentHistoryStatus']));
    // BambooHR's status is about login access; the employment status alone can say "Terminated".
    hr.setEmployee('5', person('5', { firstName: 'Leaving', supervisorEId: '1', employmentHistoryStatus: 'Terminated', terminationDate: '2026-12-04' }));
    await deliver(event('employee.updated', '5', ['employmentHistoryStatus']));
    // Deleted from BambooHR altogether: the API answers 404, which must still cut access.
    hr.deleteEmployee('6');
    await deliver(event('employee.deleted', '6'));
    await bridge.settle();

    users = await byExternalId();
    for (const id of ['2', '5', '6']) expect(users.get(id)?.active, `employee ${id}`).toBe(false);
    expect(await groupMembers('dept-product-design')).toEqual([]);
    expect(await groupMembers('dept-engineering')).toEqual([users.get('1')!.id, users.get('3')!.id].sort());
  });

  it('reactivates the same account on rehire and puts it back in its group', async () => {
    const before = (await byExternalId()).get('2')!;
    later();
    hr.setEmployee('2', person('2', { firstName: 'Grace', lastName: 'Hopper', supervisorEId: '1', department: 'Product Design', jobTitle: 'Designer', hireDate: '2026-12-04' }));
    await deliver(event('employee.updated', '2', ['status', 'employmentHistoryStatus', 'hireDate']));
    await bridge.settle();
    const e2 = (await byExternalId()).get('2')!;
    expect(e2.id).toBe(before.id);
    expect(e2.active).toBe(true);
    expect(await groupMembers('dept-product-design')).toEqual([e2.id]);
  });

  it('keeps names with apostrophes, accents and quotes exactly', async () => {
    later();
    hr.setEmployee('7', person('7', { firstName: 'Zoë', lastName: `O'Brien "Bob"`, preferredName: 'Zoé', workEmail: 'zoe.obrien@example.com' }));
    await deliver(event('employee.created', '7'));
    await bridge.settle();
    const e7 = (await byExternalId()).get('7')!;
    expect((e7.name as Json).givenName).toBe('Zoë');
    expect((e7.name as Json).familyName).toBe(`O'Brien "Bob"`);
    expect(e7.displayName).toBe(`Zoé O'Brien "Bob"`);
    expect(e7.userName).toBe('zoe.obrien@example.com');
  });

  it('acts on every employee of a batched field-based delivery', async () => {
    later();
    hr.setEmployee('3', person('3', { jobTitle: 'Senior Analyst', supervisorEId: '1' }));
    hr.setEmployee('7', person('7', { firstName: 'Zoë', lastName: `O'Brien "Bob"`, preferredName: 'Zoé', workEmail: 'zoe.obrien@example.com', jobTitle: 'Staff Engineer' }));
    const batch = {
      employees: [
        { id: '3', action: 'Updated', timestamp: isoNow(), changedFields: ['Job Title'], fields: { 'Job Title': 'Senior Analyst' } },
        { id: '7', action: 'Updated', timestamp: isoNow(), changedFields: ['Job Title'], fields: { 'Job Title': 'Staff Engineer' } },
      ],
    };
    const [before3, before7] = [fetchesOf('3'), fetchesOf('7')];
    const res = await deliver(batch);
    expect(res.status).toBe(202);
    expect(res.body.applied).toBe(2);
    await bridge.settle();
    expect([fetchesOf('3') - before3, fetchesOf('7') - before7]).toEqual([1, 1]);
    const users = await byExternalId();
    expect(users.get('3')?.title).toBe('Senior Analyst');
    expect(users.get('7')?.title).toBe('Staff Engineer');
  });

  it('retries a fetch the BambooHR API answered with 503, after the retry delay, and converges', async () => {
    later();
    hr.setEmployee('8', person('8', { firstName: 'Patient', supervisorEId: '1' }));
    hr.failNext(2, 503);
    expect((await deliver(event('employee.created', '8'))).status).toBe(202);
    await bridge.settle();
    expect(fetchesOf('8')).toBe(1);
    // Not retried in a tight loop: nothing is due until the backoff has passed.
    expect(await bridge.settle()).toBe(0);
    expect(fetchesOf('8')).toBe(1);

    later();
    await bridge.settle();
    expect(fetchesOf('8')).toBe(2);
    expect((await byExternalId()).has('8')).toBe(false);

    later();
    await bridge.settle();
    expect(fetchesOf('8')).toBe(3);
    const users = await byExternalId();
    expect(users.get('8')?.active).toBe(true);
    expect(managerOf(users.get('8'))).toBe(users.get('1')!.id);
  });

  it('refuses a delivery with a wrong signature with 401 and fetches nothing', async () => {
    later();
    hr.setEmployee('1', person('1', { firstName: 'Ada', lastName: 'Lovelace', jobTitle: 'Intruder' }));
    const requests = hr.requests.length;

    const { raw, headers } = signed(event('employee.updated', '1', ['jobTitle']), 'not-the-private-key');
    expect((await bridge.post('/webhooks/bamboo', headers, raw)).status).toBe(401);
    // A valid signature over other bytes: the body was altered in transit.
    const genuine = signed(event('employee.updated', '3', ['jobTitle']));
    const altered = genuine.raw.replace('"employeeId":"3"', '"employeeId":"1"');
    expect(altered).not.toBe(genuine.raw);
    expect((await bridge.post('/webhooks/bamboo', genuine.headers, altered)).status).toBe(401);

    expect(await bridge.settle()).toBe(0);
    expect(hr.requests.length).toBe(requests);
    expect((await byExternalId()).get('1')?.title).toBe('CTO');
    hr.setEmployee('1', person('1', { firstName: 'Ada', lastName: 'Lovelace', jobTitle: 'CTO' }));
  });

  it('ends with exactly the accounts, groups and managers the HR records call for', async () => {
    const users = await scim.listUsers();
    const externalIdOf = new Map(users.map((u) => [u.id as string, u.externalId as string]));
    const summary = users
      .map((u) => {
        const manager = managerOf(u);
        return [u.externalId, u.active, u.title, typeof manager === 'string' ? externalIdOf.get(manager) : null];
      })
      .sort((a, b) => String(a[0]).localeCompare(String(b[0])));
    expect(summary).toEqual([
      ['1', true, 'CTO', null],
      ['2', true, 'Designer', '1'],
      ['3', true, 'Senior Analyst', '1'],
      ['5', false, 'Engineer', '1'],
      ['6', false, 'Engineer', null],
      ['7', true, 'Staff Engineer', null],
      ['8', true, 'Engineer', '1'],
    ]);

    const groups = Object.fromEntries(
      (await scim.listGroups()).map((g) => [
        g.displayName as string,
        ((g.members as Array<{ value: string }> | undefined) ?? []).map((m) => externalIdOf.get(m.value)).sort(),
      ]),
    );
    expect(groups).toEqual({
      'dept-engineering': ['1', '3', '7', '8'],
      'dept-product-design': ['2'],
    });
    expect((await bridge.app.store.verifyAudit()).ok).toBe(true);
  });
});
