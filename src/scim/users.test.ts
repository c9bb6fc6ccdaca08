import { describe, expect, it } from 'vitest';
import { MOCK_ORIGIN as ORIGIN, failure, listResponse, mockScimTarget } from '../../test/helpers/scim-mock.js';
import type { TargetProfile } from '../mapping/types.js';
import type { ScimClientOptions } from './types.js';


const setup = (profile: Partial<TargetProfile> = {}, options: Partial<ScimClientOptions> = {}) => mockScimTarget({ ...{}, ...profile }, options);


const list = listResponse;
const ada = { id: 'u1', externalId: 'E-1001', userName: 'Ada.Lovelace@example.com', active: true };

describe('createUser', () => {
  it('POSTs the user with schemas and without server-owned attributes, returning the 201 resource', async () => {
    const { pool, sent, target } = setup();
    pool.intercept({ path: '/scim/v2/Users', method: 'POST' }).reply(201, { ...ada, meta: { resourceType: 'User' } }, {
      headers: { 'content-type': 'application/scim+json', location: `${ORIGIN}/scim/v2/Users/u1` },
    });
    const created = await target.createUser({
      id: 'stale',
      meta: {},
      groups: [],
      externalId: 'E-1001',
      userName: 'ada.lovelace@example.com',
      'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User': { department: 'R&D' },
    });
    expect(created.id).toBe('u1');
    expect(sent[0]?.body).toEqual({
      externalId: 'E-1001',
      userName: 'ada.lovelace@example.com',
      'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User': { department: 'R&D' },
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:User', 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'],
    });
  });

  it('takes the id from Location when the 201 has no body', async () => {
    const { pool, target } = setup();
    pool.intercept({ path: '/scim/v2/Users', method: 'POST' }).reply(201, '', { headers: { location: `${ORIGIN}/scim/v2/Users/abc%20def` } });
    expect(await target.createUser({ externalId: 'E-1', userName: 'a@x' })).toMatchObject({ id: 'abc def', externalId: 'E-1' });
  });

  it('surfaces 409 as SCIM_CONFLICT for the caller to adopt', async () => {
    const { pool, target } = setup();
    pool.intercept({ path: '/scim/v2/Users', method: 'POST' }).reply(409, {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'],
      status: '409',
      scimType: 'uniqueness',
      detail: 'userName is taken',
    });
    const error = await failure(target.createUser({ externalId: 'E-1', userName: 'a@x' }));
    expect(error).toMatchObject({ code: 'SCIM_CONFLICT', kind: 'signal' });
    expect(error.details.scimType).toBe('uniqueness');
  });
});

describe('findUser', () => {
  it('escapes and URL-encodes the value exactly', async () => {
    const { pool, sent, target } = setup({ userLookup: ['externalId'] });
    const hostile = 'x" or userName pr or userName eq "y \\ z';
    pool.intercept({ path: /^\/scim\/v2\/Users\?filter=/, method: 'GET' }).reply(200, list());
    expect(await target.findUser(hostile, undefined)).toBeNull();
    expect(sent[0]?.path).toBe(
      '/scim/v2/Users?filter=externalId%20eq%20%22x%5C%22%20or%20userName%20pr%20or%20userName%20eq%20%5C%22y%20%5C%5C%20z%22',
    );
  });

  it('does not adopt an unrelated user the server returns for the filter', async () => {
    const { pool, target } = setup();
    pool.intercept({ path: /filter=externalId/, method: 'GET' }).reply(200, list({ ...ada, id: 'u9', externalId: 'E-9999' }));
    pool.intercept({ path: /filter=userName/, method: 'GET' }).reply(200, list({ ...ada, id: 'u8', userName: 'someone@example.com' }));
    expect(await target.findUser('E-1001', 'ada.lovelace@example.com')).toBeNull();
  });

  it('moves on to userName when the server cannot parse the escaped externalId', async () => {
    const { pool, target } = setup();
    pool.intercept({ path: /filter=externalId/, method: 'GET' }).reply(400, { schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '400', scimType: 'invalidFilter', detail: 'bad' });
    pool.intercept({ path: /filter=userName/, method: 'GET' }).reply(200, list(ada));
    expect(await target.findUser('E-1" or x', 'ada.lovelace@example.com')).toMatchObject({ id: 'u1' });
  });

  it('fails on any other 400 to a search', async () => {
    const { pool, target } = setup();
    pool.intercept({ path: /filter=externalId/, method: 'GET' }).reply(400, { status: '400', scimType: 'invalidValue' });
    expect(await failure(target.findUser('E-1', 'a@x'))).toMatchObject({ code: 'SCIM_REJECTED' });
  });

  it('falls back to userName and compares it ignoring case', async () => {
    const { pool, sent, target } = setup();
    pool.intercept({ path: /filter=externalId/, method: 'GET' }).reply(200, { totalResults: 0 });
    pool.intercept({ path: /filter=userName/, method: 'GET' }).reply(200, { totalResults: 1, resources: [ada] });
    expect(await target.findUser('E-1001', 'ada.lovelace@EXAMPLE.com')).toMatchObject({ id: 'u1' });
    expect(sent.map((s) => s.path)).toEqual([
      '/scim/v2/Users?filter=externalId%20eq%20%22E-1001%22',
      '/scim/v2/Users?filter=userName%20eq%20%22ada.lovelace%40EXAMPLE.com%22',
    ]);
  });

  it('matches externalId exactly, not ignoring case', async () => {
    const { pool, target } = setup({ userLookup: ['externalId'] });
    pool.intercept({ path: /filter=externalId/, method: 'GET' }).reply(200, list({ ...ada, externalId: 'e-1001' }));
    expect(await target.findUser('E-1001', undefined)).toBeNull();
  });

  it('treats two verified matches as ambiguous', async () => {
    const { pool, target } = setup();
    pool.intercept({ path: /filter=externalId/, method: 'GET' }).reply(200, list(ada, { ...ada, id: 'u2' }));
    const error = await failure(target.findUser('E-1001', undefined));
    expect(error).toMatchObject({ code: 'SCIM_AMBIGUOUS_MATCH', kind: 'permanent' });
    expect(error.details.ids).toEqual(['u1', 'u2']);
  });

  it('treats a 404 search as no match', async () => {
    const { pool, target } = setup({ userLookup: ['userName'] });
    pool.intercept({ path: /filter=userName/, method: 'GET' }).reply(404, '');
    expect(await target.findUser('E-1001', 'ada@example.com')).toBeNull();
  });

  it('does not put quotes or backslashes in filters for servers that mishandle them', async () => {
    const { pool, sent, target } = setup({ escapedFilterValues: false });
    pool.intercept({ path: /filter=userName/, method: 'GET' }).reply(200, list({ ...ada, externalId: 'E"1' }));
    expect(await target.findUser('E"1', 'ada.lovelace@example.com')).toMatchObject({ id: 'u1' });
    expect(sent).toHaveLength(1);
    expect(sent[0]?.path).toContain('filter=userName');
    expect(await target.findUser('E\\1', undefined)).toBeNull();
    expect(sent).toHaveLength(1);
  });

  it('refuses a search answer that is not a ListResponse', async () => {
    const { pool, target } = setup({ userLookup: ['userName'] });
    pool.intercept({ path: /filter=userName/, method: 'GET' }).reply(200, '<html>login</html>', { headers: { 'content-type': 'text/html' } });
    expect((await failure(target.findUser('E-1', 'a@x'))).code).toBe('SCIM_BAD_RESPONSE');
  });
});

describe('getUser and deleteUser', () => {
  it('reads a user, with 404 as null', async () => {
    const { pool, sent, target } = setup();
    pool.intercept({ path: '/scim/v2/Users/u1', method: 'GET' }).reply(200, ada);
    pool.intercept({ path: '/scim/v2/Users/a%2Fb', method: 'GET' }).reply(404, { status: '404', detail: 'not found' });
    expect(await target.getUser('u1')).toMatchObject({ id: 'u1' });
    expect(await target.getUser('a/b')).toBeNull();
    expect(sent[1]?.path).toBe('/scim/v2/Users/a%2Fb');
  });

  it('deletes, taking an account already gone as done', async () => {
    const { pool, target } = setup();
    pool.intercept({ path: '/scim/v2/Users/u1', method: 'DELETE' }).reply(204, '');
    pool.intercept({ path: '/scim/v2/Users/u2', method: 'DELETE' }).reply(404, '');
    pool.intercept({ path: '/scim/v2/Users/u3', method: 'DELETE' }).reply(500, '');
    await target.deleteUser('u1');
    await target.deleteUser('u2');
    expect((await failure(target.deleteUser('u3'))).code).toBe('SCIM_SERVER_ERROR');
  });
});
