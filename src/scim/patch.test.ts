import { describe, expect, it } from 'vitest';
import { failure, mockScimTarget } from '../../test/helpers/scim-mock.js';
import type { ScimJson, TargetProfile } from '../mapping/types.js';
import type { ScimClientOptions } from './types.js';
import { diffUser, mergeForPut, patchBodies } from './patch.js';

const ENT = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

const setup = (profile: Partial<TargetProfile> = {}, options: Partial<ScimClientOptions> = {}) => mockScimTarget({ ...{}, ...profile }, options);


const applied: ScimJson = {
  schemas: ['urn:ietf:params:scim:schemas:core:2.0:User', ENT],
  externalId: 'E-1001',
  userName: 'ada@example.com',
  active: true,
  title: 'Engineer',
  name: { givenName: 'Ada', familyName: 'Lovelace' },
  emails: [{ value: 'ada@example.com', type: 'work', primary: true }],
  [ENT]: { department: 'Engineering', costCenter: 'CC-42', manager: { value: 'm1' } },
};

describe('diffUser', () => {
  it('replaces changed attributes, sub-attributes and extension attributes by path', () => {
    const desired = {
      ...applied,
      title: 'Principal Engineer',
      name: { givenName: 'Augusta', familyName: 'Lovelace' },
      [ENT]: { department: 'Research', costCenter: 'CC-42', manager: { value: 'm2' } },
    };
    expect(diffUser(desired, applied)).toEqual([
      { op: 'replace', path: 'title', value: 'Principal Engineer' },
      { op: 'replace', path: 'name.givenName', value: 'Augusta' },
      { op: 'replace', path: `${ENT}:department`, value: 'Research' },
      { op: 'replace', path: `${ENT}:manager`, value: { value: 'm2' } },
    ]);
  });

  it('is empty when nothing differs, and ignores what the server adds', () => {
    expect(diffUser(applied, applied)).toEqual([]);
    const asRead = {
      ...applied,
      id: 'u1',
      meta: { resourceType: 'User' },
      groups: [{ value: 'g1' }],
      emails: [{ value: 'ada@example.com', type: 'work', primary: true, display: 'Ada' }],
      name: { givenName: 'Ada', familyName: 'Lovelace' },
    };
    expect(diffUser({ ...applied, id: 'other', schemas: [] }, asRead)).toEqual([]);
  });

  it('replaces a multi-valued attribute whole, never by valuePath', () => {
    const desired = { ...applied, emails: [{ value: 'ada.l@example.com', type: 'work', primary: true }] };
    expect(diffUser(desired, applied)).toEqual([{ op: 'replace', path: 'emails', value: desired.emails }]);
    const reordered = { ...applied, emails: [{ value: 'b@x', type: 'home' }, { value: 'a@x', type: 'work' }] };
    expect(diffUser(reordered, { ...applied, emails: [{ value: 'a@x', type: 'work' }, { value: 'b@x', type: 'home' }] })).toEqual([]);
  });

  it('removes attributes the mapping stopped producing, but never userName, externalId or active', () => {
    const desired: ScimJson = { ...applied, title: null, name: { givenName: 'Ada' }, [ENT]: { department: 'Engineering' } };
    delete desired.userName;
    delete desired.externalId;
    delete desired.active;
    delete desired.emails;
    expect(diffUser(desired, applied)).toEqual([
      { op: 'remove', path: 'title' },
      { op: 'remove', path: 'name.familyName' },
      { op: 'remove', path: `${ENT}:costCenter` },
      { op: 'remove', path: `${ENT}:manager` },
      { op: 'remove', path: 'emails' },
    ]);
  });

  it('leaves attributes of an adopted server copy alone unless desired sets them to null', () => {
    const server = { ...applied, id: 'u1', nickName: 'AL', name: { givenName: 'Ada', familyName: 'Lovelace', formatted: 'Ada Lovelace' }, title: 'Engineer' };
    expect(diffUser({ ...applied, title: null }, server)).toEqual([{ op: 'remove', path: 'title' }]);
  });

  it('removes extension attributes one by one when the extension disappears', () => {
    const desired: ScimJson = { ...applied };
    delete desired[ENT];
    expect(diffUser(desired, applied)).toEqual([
      { op: 'remove', path: `${ENT}:department` },
      { op: 'remove', path: `${ENT}:costCenter` },
      { op: 'remove', path: `${ENT}:manager` },
    ]);
  });

  it('sets attributes the account does not have yet', () => {
    const current = { userName: 'ada@example.com' };
    expect(diffUser({ userName: 'ada@example.com', name: { givenName: 'Ada' }, [ENT]: { department: 'R' } }, current)).toEqual([
      { op: 'replace', path: 'name', value: { givenName: 'Ada' } },
      { op: 'replace', path: `${ENT}:department`, value: 'R' },
    ]);
  });
});

describe('patchBodies', () => {
  it('splits operations to the profile limit', () => {
    const ops = Array.from({ length: 5 }, (_, i) => ({ op: 'replace' as const, path: `a${i}`, value: i }));
    const bodies = patchBodies(ops, 2);
    expect(bodies).toHaveLength(3);
    expect(bodies[0]).toEqual({ schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: ops.slice(0, 2) });
    expect(bodies[2]?.Operations).toEqual(ops.slice(4));
  });
});

describe('mergeForPut', () => {
  it('lays desired over the server copy, drops server-owned attributes and what the mapping stopped producing', () => {
    const server = {
      ...applied,
      id: 'u1',
      meta: { version: 'W/"1"' },
      groups: [{ value: 'g1' }],
      name: { givenName: 'Ada', familyName: 'Lovelace', formatted: 'Ada Lovelace' },
      nickName: 'AL',
    };
    const desired = { ...applied, title: 'CTO', name: { givenName: 'Ada', familyName: 'King' }, [ENT]: { department: 'Engineering', manager: { value: 'm1' } } };
    const merged = mergeForPut(desired, server, applied);
    expect(merged).not.toHaveProperty('id');
    expect(merged).not.toHaveProperty('meta');
    expect(merged).not.toHaveProperty('groups');
    expect(merged).toMatchObject({ title: 'CTO', nickName: 'AL', active: true, name: { givenName: 'Ada', familyName: 'King', formatted: 'Ada Lovelace' } });
    expect(merged[ENT]).toEqual({ department: 'Engineering', manager: { value: 'm1' } });
    expect(merged.schemas).toEqual(['urn:ietf:params:scim:schemas:core:2.0:User', ENT]);
  });

  it('keeps active explicit when desired does not carry it', () => {
    const desired: ScimJson = { ...applied, title: 'CTO' };
    delete desired.active;
    expect(mergeForPut(desired, { id: 'u1', userName: 'ada@example.com', active: false }, applied).active).toBe(false);
    expect(mergeForPut(desired, { id: 'u1', userName: 'ada@example.com' }, applied).active).toBe(true);
  });
});

describe('updateUser', () => {
  it('PATCHes only a changed title and department', async () => {
    const { pool, sent, target } = setup();
    pool.intercept({ path: '/scim/v2/Users/u1', method: 'PATCH' }).reply(200, { id: 'u1' });
    await target.updateUser('u1', { ...applied, title: 'CTO', [ENT]: { ...(applied[ENT] as object), department: 'Board' } }, applied);
    expect(sent).toEqual([
      {
        method: 'PATCH',
        path: '/scim/v2/Users/u1',
        body: {
          schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
          Operations: [
            { op: 'replace', path: 'title', value: 'CTO' },
            { op: 'replace', path: `${ENT}:department`, value: 'Board' },
          ],
        },
      },
    ]);
  });

  it('sends nothing when nothing changed', async () => {
    const { sent, target } = setup();
    await target.updateUser('u1', applied, applied);
    await setup({ update: 'put' }).target.updateUser('u1', applied, applied);
    expect(sent).toEqual([]);
  });

  it('accepts 204 and 200-with-body answers, split to the operation limit', async () => {
    const { pool, sent, target } = setup({ maxPatchOperations: 1 });
    pool.intercept({ path: '/scim/v2/Users/u1', method: 'PATCH' }).reply(204, '');
    pool.intercept({ path: '/scim/v2/Users/u1', method: 'PATCH' }).reply(200, { ...applied, id: 'u1', title: 'CTO' });
    await target.updateUser('u1', { ...applied, title: 'CTO', active: false }, applied);
    expect(sent.map((s) => s.body?.Operations)).toEqual([
      [{ op: 'replace', path: 'active', value: false }],
      [{ op: 'replace', path: 'title', value: 'CTO' }],
    ]);
  });

  it('GETs, merges and PUTs the whole user, keeping active', async () => {
    const { pool, sent, target } = setup({ update: 'put' });
    pool.intercept({ path: '/scim/v2/Users/u1', method: 'GET' }).reply(200, { ...applied, id: 'u1', meta: { resourceType: 'User' }, displayName: 'Ada L' });
    pool.intercept({ path: '/scim/v2/Users/u1', method: 'PUT' }).reply(200, { id: 'u1' });
    const desired: ScimJson = { ...applied, title: 'CTO' };
    delete desired.active;
    await target.updateUser('u1', desired, applied);
    const put = sent[1];
    expect(put?.method).toBe('PUT');
    expect(put?.body).toMatchObject({ title: 'CTO', displayName: 'Ada L', active: true, userName: 'ada@example.com' });
    expect(put?.body).not.toHaveProperty('id');
    expect(put?.body).not.toHaveProperty('meta');
  });

  it('surfaces a 404 on update as SCIM_NOT_FOUND once a GET confirms it', async () => {
    const { pool, sent, target } = setup();
    pool.intercept({ path: '/scim/v2/Users/u1', method: 'PATCH' }).reply(404, { status: '404', detail: 'Resource u1 not found' });
    pool.intercept({ path: '/scim/v2/Users/u1', method: 'GET' }).reply(404, '');
    const error = await failure(target.updateUser('u1', { ...applied, title: 'CTO' }, applied));
    expect(error).toMatchObject({ code: 'SCIM_NOT_FOUND', kind: 'signal' });
    expect(sent.map((s) => s.method)).toEqual(['PATCH', 'GET']);
  });

  it('does not report an account as gone when only the write route answered 404', async () => {
    const { pool, target } = setup({ update: 'put' });
    pool.intercept({ path: '/scim/v2/Users/u1', method: 'GET' }).reply(200, { ...applied, id: 'u1' }).times(2);
    pool.intercept({ path: '/scim/v2/Users/u1', method: 'PUT' }).reply(404, '<html>Not Found</html>', { headers: { 'content-type': 'text/html' } });
    const error = await failure(target.updateUser('u1', { ...applied, title: 'CTO' }, applied));
    expect(error.code).toBe('SCIM_REJECTED');
  });

  it('in PUT mode a missing account is SCIM_NOT_FOUND from the GET', async () => {
    const { pool, sent, target } = setup({ update: 'put' });
    pool.intercept({ path: '/scim/v2/Users/u1', method: 'GET' }).reply(404, '');
    expect((await failure(target.updateUser('u1', { ...applied, title: 'CTO' }, applied))).code).toBe('SCIM_NOT_FOUND');
    expect(sent).toHaveLength(1);
  });
});
