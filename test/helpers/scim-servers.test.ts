import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startScimServer, type ScimServerHandle, type ScimServerKind } from './scim-servers/index.js';

const CORE_USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const CORE_GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

type Json = Record<string, unknown>;

async function scim(
  server: ScimServerHandle,
  method: string,
  path: string,
  body?: unknown,
  token: string | null = server.token,
): Promise<{ status: number; body: Json | undefined }> {
  const headers: Record<string, string> = { accept: 'application/scim+json' };
  if (token !== null) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/scim+json';
  const res = await fetch(`${server.baseUrl}${path}`, {
    method,
    headers,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Json) : undefined };
}

function memberIds(group: Json | undefined): string[] {
  const members = (group?.members as Array<{ value: string }> | undefined) ?? [];
  return members.map((m) => m.value).sort();
}

function summary(users: Json[]): Json[] {
  return users
    .map((u) => ({ id: u.id, userName: u.userName, externalId: u.externalId, active: u.active }))
    .sort((a, b) => String(a.userName).localeCompare(String(b.userName)));
}

describe.each<ScimServerKind>(['better-auth', 'scimmy'])('%s SCIM server harness', (kind) => {
  let server: ScimServerHandle;
  let aliceId = '';
  let groupId = '';

  beforeAll(async () => {
    server = await startScimServer(kind);
  }, 30_000);

  afterAll(async () => {
    await server?.stop();
  });

  it('exposes a /scim/v2 base URL and rejects requests without the bearer token', async () => {
    expect(server.baseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/.*scim\/v2$/);
    expect((await scim(server, 'GET', '/Users', undefined, null)).status).toBe(401);
    expect((await scim(server, 'GET', '/Users', undefined, 'wrong')).status).toBe(401);
    expect(await server.listUsers()).toEqual([]);
    expect(await server.listGroups()).toEqual([]);
  });

  it('creates a user with externalId and the enterprise extension', async () => {
    const res = await scim(server, 'POST', '/Users', {
      schemas: [CORE_USER, ENTERPRISE],
      userName: 'alice@example.com',
      externalId: 'hr-1001',
      name: { givenName: 'Alice', familyName: 'Smith' },
      emails: [{ value: 'alice@example.com', type: 'work', primary: true }],
      active: true,
      [ENTERPRISE]: { employeeNumber: '1001', department: 'Engineering', manager: { value: 'hr-0001' } },
    });
    expect(res.status).toBe(201);
    aliceId = String(res.body?.id);
    expect(aliceId).not.toBe('');

    const users = await server.listUsers();
    expect(summary(users)).toEqual([{ id: aliceId, userName: 'alice@example.com', externalId: 'hr-1001', active: true }]);
    expect(users[0]?.[ENTERPRISE]).toMatchObject({ employeeNumber: '1001', department: 'Engineering' });
  });

  it('finds the user with a URL-encoded externalId filter', async () => {
    const res = await scim(server, 'GET', `/Users?filter=${encodeURIComponent('externalId eq "hr-1001"')}`);
    expect(res.status).toBe(200);
    expect(res.body?.totalResults).toBe(1);
    expect((res.body?.Resources as Json[])[0]?.id).toBe(aliceId);

    const none = await scim(server, 'GET', `/Users?filter=${encodeURIComponent('externalId eq "hr-9999"')}`);
    expect(none.body?.totalResults).toBe(0);
  });

  it('deactivates the user with PATCH replace active=false', async () => {
    const res = await scim(server, 'PATCH', `/Users/${aliceId}`, {
      schemas: [PATCH_OP],
      Operations: [{ op: 'replace', path: 'active', value: false }],
    });
    expect(res.status).toBe(200);
    expect(res.body?.active).toBe(false);
    expect(summary(await server.listUsers())).toEqual([
      { id: aliceId, userName: 'alice@example.com', externalId: 'hr-1001', active: false },
    ]);
  });

  it('answers 409 uniqueness to a duplicate userName, whatever its case', async () => {
    const res = await scim(server, 'POST', '/Users', {
      schemas: [CORE_USER],
      userName: 'ALICE@example.com',
      externalId: 'hr-1002',
      emails: [{ value: 'alice.two@example.com', type: 'work', primary: true }],
    });
    expect(res.status).toBe(409);
    expect(res.body?.scimType).toBe('uniqueness');
    expect((await server.listUsers()).map((u) => u.id)).toEqual([aliceId]);
  });

  it('round-trips a familyName containing a double quote and an apostrophe', async () => {
    const familyName = `O'Brien "Bo"`;
    const res = await scim(server, 'POST', '/Users', {
      schemas: [CORE_USER],
      userName: 'bo@example.com',
      externalId: 'hr-1003',
      name: { givenName: 'Bo', familyName },
      emails: [{ value: 'bo@example.com', type: 'work', primary: true }],
    });
    expect(res.status).toBe(201);
    const id = String(res.body?.id);
    expect((await scim(server, 'GET', `/Users/${id}`)).body?.name).toMatchObject({ familyName });
    const listed = (await server.listUsers()).find((u) => u.id === id);
    expect(listed?.name).toMatchObject({ givenName: 'Bo', familyName });
  });

  it('creates a group', async () => {
    const res = await scim(server, 'POST', '/Groups', { schemas: [CORE_GROUP], displayName: 'Engineering', externalId: 'grp-eng' });
    expect(res.status).toBe(201);
    groupId = String(res.body?.id);
    const groups = await server.listGroups();
    expect(groups.map((g) => [g.id, g.displayName, memberIds(g)])).toEqual([[groupId, 'Engineering', []]]);
  });

  it('adds a member with PATCH add members', async () => {
    const res = await scim(server, 'PATCH', `/Groups/${groupId}`, {
      schemas: [PATCH_OP],
      Operations: [{ op: 'add', path: 'members', value: [{ value: aliceId }] }],
    });
    expect([200, 204]).toContain(res.status);
    const groups = await server.listGroups();
    expect(groups.map((g) => [g.id, memberIds(g)])).toEqual([[groupId, [aliceId]]]);
  });

  it('removes the member with PATCH remove members[value eq "<id>"]', async () => {
    const res = await scim(server, 'PATCH', `/Groups/${groupId}`, {
      schemas: [PATCH_OP],
      Operations: [{ op: 'remove', path: `members[value eq "${aliceId}"]` }],
    });
    expect([200, 204]).toContain(res.status);
    const groups = await server.listGroups();
    expect(groups.map((g) => [g.id, memberIds(g)])).toEqual([[groupId, []]]);
  });

  it('pages listUsers past one page of results', async () => {
    const before = (await server.listUsers()).length;
    const extra = 101;
    for (let i = 0; i < extra; i++) {
      const n = String(i).padStart(3, '0');
      const res = await scim(server, 'POST', '/Users', {
        schemas: [CORE_USER],
        userName: `bulk${n}@example.com`,
        emails: [{ value: `bulk${n}@example.com` }],
      });
      expect(res.status).toBe(201);
    }
    const users = await server.listUsers();
    expect(users).toHaveLength(before + extra);
    expect(new Set(users.map((u) => u.id)).size).toBe(before + extra);
  }, 30_000);
});
