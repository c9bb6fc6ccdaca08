import { describe, expect, it } from 'vitest';
import { failure, listResponse, mockScimTarget } from '../../test/helpers/scim-mock.js';
import type { TargetProfile } from '../mapping/types.js';
import type { ScimClientOptions } from './types.js';

const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

const setup = (profile: Partial<TargetProfile> = {}, options: Partial<ScimClientOptions> = {}) => mockScimTarget({ ...{ groupMemberChunk: 2, groupRemoveChunk: 2 }, ...profile }, options);


const list = listResponse;

describe('findGroup', () => {
  it('searches by displayName and keeps only the exact name', async () => {
    const { pool, sent, target } = setup();
    pool.intercept({ path: /filter=displayName/, method: 'GET' }).reply(200, list({ id: 'g0', displayName: 'DEPT-R&D' }, { id: 'g1', displayName: 'dept-r&d' }));
    expect(await target.findGroup('dept-r&d')).toMatchObject({ id: 'g1' });
    expect(sent[0]?.path).toBe('/scim/v2/Groups?filter=displayName%20eq%20%22dept-r%26d%22');
  });

  it('returns null when nothing matches exactly, and fails on two exact matches', async () => {
    const { pool, target } = setup();
    pool.intercept({ path: /filter=displayName/, method: 'GET' }).reply(200, list({ id: 'g0', displayName: 'dept-sales ' }));
    pool.intercept({ path: /filter=displayName/, method: 'GET' }).reply(200, list({ id: 'g1', displayName: 'x' }, { id: 'g2', displayName: 'x' }));
    expect(await target.findGroup('dept-sales')).toBeNull();
    expect((await failure(target.findGroup('x'))).code).toBe('SCIM_AMBIGUOUS_MATCH');
  });

  it('scans the group list instead of filtering on a name a naive server would misparse', async () => {
    const { pool, sent, target } = setup({ escapedFilterValues: false });
    pool.intercept({ path: '/scim/v2/Groups?startIndex=1&count=100', method: 'GET' }).reply(200, { totalResults: 101, Resources: Array.from({ length: 100 }, (_, i) => ({ id: `g${i}`, displayName: `group ${i}` })) });
    pool.intercept({ path: '/scim/v2/Groups?startIndex=101&count=100', method: 'GET' }).reply(200, { totalResults: 101, Resources: [{ id: 'gq', displayName: 'say "hi"' }] });
    expect(await target.findGroup('say "hi"')).toMatchObject({ id: 'gq' });
    expect(sent.every((s) => !s.path.includes('filter'))).toBe(true);
  });
});

describe('createGroup', () => {
  it('POSTs an empty group', async () => {
    const { pool, sent, target } = setup();
    pool.intercept({ path: '/scim/v2/Groups', method: 'POST' }).reply(201, { id: 'g1', displayName: 'dept-sales', members: [] });
    expect(await target.createGroup('dept-sales')).toMatchObject({ id: 'g1', displayName: 'dept-sales' });
    expect(sent[0]?.body).toEqual({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'dept-sales', members: [] });
  });

  it('adopts the existing group on 409', async () => {
    const { pool, target } = setup();
    pool.intercept({ path: '/scim/v2/Groups', method: 'POST' }).reply(409, { status: '409', scimType: 'uniqueness' });
    pool.intercept({ path: /filter=displayName/, method: 'GET' }).reply(200, list({ id: 'g7', displayName: 'dept-sales' }));
    expect(await target.createGroup('dept-sales')).toMatchObject({ id: 'g7' });
  });

  it('keeps the conflict when the group cannot be found after all', async () => {
    const { pool, target } = setup();
    pool.intercept({ path: '/scim/v2/Groups', method: 'POST' }).reply(409, { status: '409' });
    pool.intercept({ path: /filter=displayName/, method: 'GET' }).reply(200, list());
    expect((await failure(target.createGroup('dept-sales'))).code).toBe('SCIM_CONFLICT');
  });
});

describe('membership', () => {
  it('adds members in chunks with one add operation each', async () => {
    const { pool, sent, target } = setup();
    pool.intercept({ path: '/scim/v2/Groups/g1', method: 'PATCH' }).reply(204, '').times(3);
    await target.addMembers('g1', ['u1', 'u2', 'u3', 'u2', 'u4', 'u5']);
    expect(sent.map((s) => s.body)).toEqual([
      { schemas: [PATCH_OP], Operations: [{ op: 'add', path: 'members', value: [{ value: 'u1' }, { value: 'u2' }] }] },
      { schemas: [PATCH_OP], Operations: [{ op: 'add', path: 'members', value: [{ value: 'u3' }, { value: 'u4' }] }] },
      { schemas: [PATCH_OP], Operations: [{ op: 'add', path: 'members', value: [{ value: 'u5' }] }] },
    ]);
  });

  it('takes a 409 on add as already a member, but not other failures', async () => {
    const { pool, target } = setup({ groupMemberChunk: 10 });
    pool.intercept({ path: '/scim/v2/Groups/g1', method: 'PATCH' }).reply(409, { status: '409', detail: 'already a member' });
    await target.addMembers('g1', ['u1']);
    pool.intercept({ path: '/scim/v2/Groups/g1', method: 'PATCH' }).reply(400, { status: '400', scimType: 'invalidValue' });
    expect((await failure(target.addMembers('g1', ['u1']))).code).toBe('SCIM_REJECTED');
  });

  it('removes each member by a filtered path with the id JSON-escaped, chunked', async () => {
    const { pool, sent, target } = setup();
    pool.intercept({ path: '/scim/v2/Groups/g%2F1', method: 'PATCH' }).reply(200, { id: 'g/1' }).times(2);
    await target.removeMembers('g/1', ['u1', 'we"ird', 'u3']);
    expect(sent.map((s) => [s.path, s.body])).toEqual([
      [
        '/scim/v2/Groups/g%2F1',
        {
          schemas: [PATCH_OP],
          Operations: [
            { op: 'remove', path: 'members[value eq "u1"]' },
            { op: 'remove', path: 'members[value eq "we\\"ird"]' },
          ],
        },
      ],
      ['/scim/v2/Groups/g%2F1', { schemas: [PATCH_OP], Operations: [{ op: 'remove', path: 'members[value eq "u3"]' }] }],
    ]);
  });

  it('never sends a bare members remove, which would empty the group', async () => {
    const { pool, sent, target } = setup({ groupRemoveChunk: 1 });
    pool.intercept({ path: '/scim/v2/Groups/g1', method: 'PATCH' }).reply(204, '').times(2);
    await target.removeMembers('g1', ['u1', 'u2']);
    await target.removeMembers('g1', []);
    expect(sent).toHaveLength(2);
    for (const s of sent) expect((s.body?.Operations as Array<{ path: string }>)[0]?.path).toMatch(/^members\[value eq "u\d"\]$/);
  });

  it('takes noTarget as already removed, retrying a failed chunk one member at a time', async () => {
    const { pool, sent, target } = setup();
    pool.intercept({ path: '/scim/v2/Groups/g1', method: 'PATCH' }).reply(400, { status: '400', scimType: 'noTarget' });
    pool.intercept({ path: '/scim/v2/Groups/g1', method: 'PATCH' }).reply(204, '');
    pool.intercept({ path: '/scim/v2/Groups/g1', method: 'PATCH' }).reply(400, { status: '400', scimType: 'noTarget' });
    await target.removeMembers('g1', ['u1', 'gone']);
    expect(sent.map((s) => (s.body?.Operations as unknown[]).length)).toEqual([2, 1, 1]);
  });

  it('reports a group gone only when a read of it agrees with the 404', async () => {
    const { pool, sent, target } = setup();
    pool.intercept({ path: '/scim/v2/Groups/g1', method: 'PATCH' }).reply(404, { status: '404' });
    pool.intercept({ path: '/scim/v2/Groups/g1?excludedAttributes=members', method: 'GET' }).reply(404, { status: '404' });
    expect((await failure(target.addMembers('g1', ['u1']))).code).toBe('SCIM_NOT_FOUND');
    pool.intercept({ path: '/scim/v2/Groups/g1', method: 'PATCH' }).reply(404, { status: '404' });
    pool.intercept({ path: '/scim/v2/Groups/g1?excludedAttributes=members', method: 'GET' }).reply(404, { status: '404' });
    expect((await failure(target.removeMembers('g1', ['u1']))).code).toBe('SCIM_NOT_FOUND');
    expect(sent.map((x) => x.method)).toEqual(['PATCH', 'GET', 'PATCH', 'GET']);
  });

  it('retries later, without forgetting the group, a 404 for a group the target still has', async () => {
    const { pool, target } = setup();
    for (const change of [() => target.addMembers('g1', ['u1']), () => target.removeMembers('g1', ['u1'])]) {
      pool.intercept({ path: '/scim/v2/Groups/g1', method: 'PATCH' }).reply(404, { status: '404' });
      pool.intercept({ path: '/scim/v2/Groups/g1?excludedAttributes=members', method: 'GET' }).reply(200, { id: 'g1', displayName: 'dept-sales' });
      const error = await failure(change());
      expect(error.code).toBe('SCIM_SERVER_ERROR');
      expect(error.details).toMatchObject({ confirmedBy: 'GET' });
    }
  });

  it('in dry-run mode creates and changes groups without sending', async () => {
    const { sent, exchanges, target } = setup({}, { mode: 'dry-run' });
    expect(await target.createGroup('dept-sales')).toMatchObject({ id: 'dry-run:group:dept-sales', members: [] });
    await target.addMembers('g1', ['u1']);
    await target.removeMembers('g1', ['u2']);
    expect(sent).toEqual([]);
    expect(exchanges.map((e) => e.outcome)).toEqual(['dry-run', 'dry-run', 'dry-run']);
  });
});
