import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBridge, type BridgeHarness } from '../helpers/bridge.js';
import { startScimServer, type ScimServerHandle } from '../helpers/scim-servers/index.js';

const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
type Json = Record<string, unknown>;

function employee(id: string, over: Json = {}): Json {
  const given = (over.givenName as string | undefined) ?? 'Test';
  return {
    id,
    version: 1,
    status: 'active',
    givenName: given,
    familyName: `Person${id.replace(/\W/g, '')}`,
    workEmail: `${id.replace(/\W/g, '').toLowerCase()}@example.com`,
    title: 'Engineer',
    department: 'Engineering',
    division: 'R&D',
    costCenter: 'CC-42',
    employeeNumber: id.replace(/\D/g, ''),
    managerId: null,
    startDate: '2026-01-05',
    endDate: null,
    ...over,
  };
}

describe.each(['better-auth', 'scimmy'] as const)('Standard Webhooks to %s, end to end', (kind) => {
  let scim: ScimServerHandle;
  let bridge: BridgeHarness;
  const byExternalId = async () => new Map((await scim.listUsers()).map((u) => [u.externalId as string, u]));
  const groupMembers = async (name: string) => {
    const g = (await scim.listGroups()).find((x) => x.displayName === name);
    return g ? ((g.members as Array<{ value: string }> | undefined) ?? []).map((m) => m.value).sort() : null;
  };

  beforeAll(async () => {
    scim = await startScimServer(kind);
    bridge = await startBridge({ targets: [{ name: 'app', baseUrl: scim.baseUrl, token: scim.token }] });
  });
  afterAll(async () => {
    await bridge?.close();
    await scim?.stop();
  });

  it('backfills the manager reference when the manager is hired after the report', async () => {
    expect((await bridge.send(employee('E-2', { managerId: 'E-1', givenName: 'Grace' }))).status).toBe(202);
    await bridge.settle();
    let users = await byExternalId();
    expect(users.get('E-2')?.active).toBe(true);
    expect((users.get('E-2')?.[ENTERPRISE] as Json | undefined)?.manager).toBeUndefined();

    expect((await bridge.send(employee('E-1', { givenName: 'Ada', title: 'CTO' }))).status).toBe(202);
    await bridge.settle();
    users = await byExternalId();
    const manager = users.get('E-1')!;
    expect(((users.get('E-2')![ENTERPRISE] as Json).manager as Json).value).toBe(manager.id);
    expect(await groupMembers('dept-engineering')).toEqual([manager.id as string, users.get('E-2')!.id as string].sort());
  });

  it('moves a mover to the new department group and title', async () => {
    await bridge.send(employee('E-2', { version: 2, managerId: 'E-1', givenName: 'Grace', department: 'Product Design', title: 'Designer' }));
    await bridge.settle();
    const users = await byExternalId();
    const e2 = users.get('E-2')!;
    expect(e2.title).toBe('Designer');
    expect((e2[ENTERPRISE] as Json).department).toBe('Product Design');
    expect(await groupMembers('dept-product-design')).toEqual([e2.id]);
    expect(await groupMembers('dept-engineering')).toEqual([users.get('E-1')!.id]);
  });

  it('acknowledges a duplicate delivery without a second effect, and ignores an older version', async () => {
    const first = await bridge.send(employee('E-5', { version: 3, title: 'Analyst' }));
    await bridge.settle();
    const again = await bridge.send(employee('E-5', { version: 3, title: 'Analyst' }), { id: first.id });
    expect(again.status).toBe(200);
    expect(again.body.status).toBe('duplicate');
    const late = await bridge.send(employee('E-5', { version: 2, title: 'Intern' }));
    expect(late.status).toBe(202);
    expect(late.body.ignored).toBe(1);
    expect(await bridge.settle()).toBe(0);
    const users = await byExternalId();
    expect(users.get('E-5')?.title).toBe('Analyst');
    expect([...users.keys()].filter((k) => k === 'E-5')).toHaveLength(1);
  });

  it('creates no account for a pending hire with a future start date', async () => {
    await bridge.send(employee('E-6', { status: 'pending', startDate: '2027-01-04' }));
    await bridge.settle();
    expect((await byExternalId()).has('E-6')).toBe(false);
  });

  it('deactivates a leaver, takes them out of groups, and reactivates the same account on rehire', async () => {
    const before = (await byExternalId()).get('E-2')!;
    await bridge.send(employee('E-2', { version: 4, status: 'terminated', managerId: 'E-1', givenName: 'Grace', department: 'Product Design', title: 'Designer' }));
    await bridge.settle();
    let e2 = (await byExternalId()).get('E-2')!;
    expect(e2.active).toBe(false);
    expect(await groupMembers('dept-product-design')).toEqual([]);

    await bridge.send(employee('E-2', { version: 5, status: 'active', managerId: 'E-1', givenName: 'Grace', department: 'Product Design', title: 'Designer' }));
    await bridge.settle();
    e2 = (await byExternalId()).get('E-2')!;
    expect(e2.id).toBe(before.id);
    expect(e2.active).toBe(true);
    expect(await groupMembers('dept-product-design')).toEqual([e2.id]);
  });

  it('keeps names with apostrophes, accents and quotes exactly', async () => {
    await bridge.send(employee('E-7', { givenName: 'Zoë', familyName: `O'Brien "Bob"`, preferredName: 'Zoé', workEmail: 'zoe.obrien@example.com' }));
    await bridge.settle();
    const e7 = (await byExternalId()).get('E-7')!;
    expect((e7.name as Json).givenName).toBe('Zoë');
    expect((e7.name as Json).familyName).toBe(`O'Brien "Bob"`);
    expect(e7.displayName).toBe(`Zoé O'Brien "Bob"`);
  });

  it('keeps an HR id crafted to break an unescaped filter to its own account', async () => {
    const crafted = 'E-8" or userName pr or userName eq "x';
    const before = await byExternalId();
    await bridge.send(employee(crafted, { workEmail: 'crafted@example.com', title: 'Tester' }));
    await bridge.settle();
    await bridge.send(employee(crafted, { version: 2, workEmail: 'crafted@example.com', title: 'Lead Tester' }));
    await bridge.settle();
    const after = await byExternalId();
    expect(after.get(crafted)?.title).toBe('Lead Tester');
    for (const [externalId, user] of before) {
      expect(after.get(externalId)?.title).toBe(user.title);
      expect(after.get(externalId)?.active).toBe(user.active);
    }
    expect(after.size).toBe(before.size + 1);
  });

  it('adopts an account that already exists under the same userName instead of creating a second one', async () => {
    const res = await fetch(`${scim.baseUrl}/Users`, {
      method: 'POST',
      headers: { authorization: `Bearer ${scim.token}`, 'content-type': 'application/scim+json' },
      body: JSON.stringify({
        schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
        userName: 'e9@example.com',
        name: { givenName: 'Pre', familyName: 'Existing' },
        emails: [{ value: 'e9@example.com', type: 'work', primary: true }],
        active: true,
      }),
    });
    expect(res.status).toBe(201);
    const existing = (await res.json()) as Json;
    await bridge.send(employee('E-9', { title: 'Adopted' }));
    await bridge.settle();
    const matches = (await scim.listUsers()).filter((u) => String(u.userName).toLowerCase() === 'e9@example.com');
    expect(matches).toHaveLength(1);
    expect(matches[0]).toMatchObject({ id: existing.id, externalId: 'E-9', title: 'Adopted', active: true });
  });

  it('deactivates a leaver whose termination carries only id and status', async () => {
    await bridge.send(employee('E-10', { title: 'Sparse' }));
    await bridge.settle();
    expect((await byExternalId()).get('E-10')?.active).toBe(true);
    await bridge.send({ id: 'E-10', version: 2, status: 'terminated' });
    await bridge.settle();
    expect((await byExternalId()).get('E-10')?.active).toBe(false);
    expect(await groupMembers('dept-engineering')).not.toContain((await byExternalId()).get('E-10')?.id);
  });

  it('re-creates a department group deleted at the target and joins the next hire to it', async () => {
    await bridge.send(employee('E-11', { department: 'Legal', title: 'Counsel' }));
    await bridge.settle();
    const first = (await scim.listGroups()).find((g) => g.displayName === 'dept-legal');
    expect(first).toBeDefined();
    const removed = await fetch(`${scim.baseUrl}/Groups/${String(first!.id)}`, { method: 'DELETE', headers: { authorization: `Bearer ${scim.token}` } });
    expect(removed.status).toBe(204);

    await bridge.send(employee('E-12', { department: 'Legal', title: 'Counsel' }));
    await bridge.settle();
    const again = (await scim.listGroups()).filter((g) => g.displayName === 'dept-legal');
    expect(again).toHaveLength(1);
    expect(again[0]!.id).not.toBe(first!.id);
    expect(await groupMembers('dept-legal')).toEqual([(await byExternalId()).get('E-12')!.id]);
  });

  it('ends with exactly the accounts the HR records call for', async () => {
    const users = await byExternalId();
    const summary = [...users.values()]
      .map((u) => [u.externalId, u.active, u.title])
      .sort((a, b) => String(a[0]).localeCompare(String(b[0])));
    expect(summary).toEqual([
      ['E-1', true, 'CTO'],
      ['E-10', false, 'Sparse'],
      ['E-11', true, 'Counsel'],
      ['E-12', true, 'Counsel'],
      ['E-2', true, 'Designer'],
      ['E-5', true, 'Analyst'],
      ['E-7', true, 'Engineer'],
      ['E-8" or userName pr or userName eq "x', true, 'Lead Tester'],
      ['E-9', true, 'Adopted'],
    ]);
    const verify = await bridge.app.store.verifyAudit();
    expect(verify.ok).toBe(true);
  });
});
