import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { MOCK_ORIGIN as ORIGIN, TEST_PROFILE, failure } from '../../test/helpers/scim-mock.js';
import { MockAgent, type Dispatcher } from 'undici';
import type { TargetProfile } from '../mapping/types.js';
import type { ScimClientOptions, ScimExchange } from './types.js';
import { ScimRequester } from './request.js';
import { createScimTarget } from './index.js';

const TOKEN = 'tok-7f3c9a-very-secret';
const PROFILE = TEST_PROFILE;

interface Sent {
  method: string;
  path: string;
  headers: Record<string, string>;
  at: number;
}

function setup(options: Partial<ScimClientOptions> = {}, profile: Partial<TargetProfile> = {}) {
  const agent = new MockAgent();
  agent.disableNetConnect();
  const sent: Sent[] = [];
  const recording = agent.compose((dispatch) => (opts, handler) => {
    sent.push({
      method: opts.method,
      path: opts.path,
      headers: { ...(opts.headers as Record<string, string>) },
      at: Date.now(),
    });
    return dispatch(opts, handler);
  });
  const exchanges: ScimExchange[] = [];
  const clientOptions: ScimClientOptions = {
    target: 'app1',
    baseUrl: `${ORIGIN}/scim/v2`,
    token: () => TOKEN,
    profile: { ...PROFILE, ...profile },
    mode: 'live',
    timeoutMs: 2_000,
    userAgent: 'hr-scim-bridge/test',
    onExchange: (exchange) => exchanges.push(exchange),
    ...options,
  };
  return {
    agent,
    pool: agent.get(ORIGIN),
    sent,
    exchanges,
    http: new ScimRequester(clientOptions, recording as Dispatcher),
    target: createScimTarget(clientOptions, recording as Dispatcher),
  };
}


const USER = { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], id: 'u1', userName: 'ada@example.com' };

describe('request chokepoint', () => {
  it('sends auth, content types and a User-Agent, reading the token for every request', async () => {
    let n = 0;
    const { pool, sent, http } = setup({ token: () => `${TOKEN}-${++n}` });
    pool.intercept({ path: '/scim/v2/Users/u1', method: 'GET' }).reply(200, USER, { headers: { 'content-type': 'application/scim+json' } });
    pool.intercept({ path: '/scim/v2/Users', method: 'POST' }).reply(201, USER);
    await http.send({ method: 'GET', path: '/Users/u1' });
    await http.send({ method: 'POST', path: '/Users', body: { userName: 'ada@example.com' } });
    expect(sent[0]?.headers).toMatchObject({
      authorization: `Bearer ${TOKEN}-1`,
      accept: 'application/scim+json, application/json',
      'user-agent': 'hr-scim-bridge/test',
    });
    expect(sent[0]?.headers['content-type']).toBeUndefined();
    expect(sent[1]?.headers).toMatchObject({ authorization: `Bearer ${TOKEN}-2`, 'content-type': 'application/scim+json' });
  });

  it('reads JSON under any JSON-ish content type and tolerates empty bodies', async () => {
    const { pool, http } = setup();
    pool.intercept({ path: '/scim/v2/Users/a', method: 'GET' }).reply(200, JSON.stringify(USER), { headers: { 'content-type': 'text/json' } });
    pool.intercept({ path: '/scim/v2/Users/b', method: 'GET' }).reply(200, JSON.stringify(USER), { headers: { 'content-type': 'application/json; charset=utf-8' } });
    pool.intercept({ path: '/scim/v2/Users/a', method: 'PATCH' }).reply(204, '');
    pool.intercept({ path: '/scim/v2/Users/b', method: 'PATCH' }).reply(200, '', { headers: { 'content-type': 'application/scim+json' } });
    expect((await http.send({ method: 'GET', path: '/Users/a' })).body).toEqual(USER);
    expect((await http.send({ method: 'GET', path: '/Users/b' })).body).toEqual(USER);
    expect(await http.send({ method: 'PATCH', path: '/Users/a', body: {} })).toMatchObject({ status: 204, body: undefined, unreadable: false });
    expect(await http.send({ method: 'PATCH', path: '/Users/b', body: {} })).toMatchObject({ status: 200, body: undefined, unreadable: false });
  });

  it.each([
    [500, 'SCIM_SERVER_ERROR', 'transient'],
    [502, 'SCIM_SERVER_ERROR', 'transient'],
    [503, 'SCIM_SERVER_ERROR', 'transient'],
    [504, 'SCIM_SERVER_ERROR', 'transient'],
    [408, 'SCIM_SERVER_ERROR', 'transient'],
    [429, 'SCIM_THROTTLED', 'transient'],
    [401, 'SCIM_UNAUTHORIZED', 'config'],
    [403, 'SCIM_UNAUTHORIZED', 'config'],
    [400, 'SCIM_REJECTED', 'permanent'],
    [418, 'SCIM_REJECTED', 'permanent'],
    [501, 'SCIM_REJECTED', 'permanent'],
    [302, 'SCIM_BAD_RESPONSE', 'permanent'],
    [404, 'SCIM_NOT_FOUND', 'signal'],
    [409, 'SCIM_CONFLICT', 'signal'],
  ])('classifies %i as %s (%s)', async (status, code, kind) => {
    const { pool, http, exchanges } = setup();
    pool.intercept({ path: '/scim/v2/Users/u1', method: 'PATCH' }).reply(status, '');
    const error = await failure(http.send({ method: 'PATCH', path: '/Users/u1', body: {} }));
    expect(error.code).toBe(code);
    expect(error.kind).toBe(kind);
    expect(error.details.status).toBe(status);
    expect(exchanges).toEqual([expect.objectContaining({ status, outcome: 'failure', errorCode: code })]);
  });

  it('keeps scimType and detail of a 400, and reads the AWS singular `schema` error', async () => {
    const { pool, http } = setup();
    pool.intercept({ path: '/scim/v2/Users', method: 'POST' }).reply(400, {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'],
      status: '400',
      scimType: 'invalidValue',
      detail: 'emails is required',
    });
    pool.intercept({ path: '/scim/v2/Users', method: 'POST' }).reply(
      409,
      { schema: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '409', detail: 'Duplicate userName' },
      { headers: { 'content-type': 'application/json' } },
    );
    const rejected = await failure(http.send({ method: 'POST', path: '/Users', body: {} }));
    expect(rejected.code).toBe('SCIM_REJECTED');
    expect(rejected.details).toMatchObject({ status: 400, scimType: 'invalidValue', detail: 'emails is required' });
    const conflict = await failure(http.send({ method: 'POST', path: '/Users', body: {} }));
    expect(conflict.code).toBe('SCIM_CONFLICT');
    expect(conflict.details.detail).toBe('Duplicate userName');
  });

  it('answers an HTML error page with a classified error and no markup', async () => {
    const { pool, http } = setup();
    const page = `<!DOCTYPE html><html><body><h1>502 Bad Gateway</h1>${'x'.repeat(2000)}</body></html>`;
    pool.intercept({ path: '/scim/v2/Users/u1', method: 'GET' }).reply(502, page, { headers: { 'content-type': 'text/html' } });
    const error = await failure(http.send({ method: 'GET', path: '/Users/u1' }));
    expect(error.code).toBe('SCIM_SERVER_ERROR');
    expect(error.details.detail).toBeUndefined();
    expect(error.message).not.toContain('<');
  });

  it('fails with SCIM_TIMEOUT when the target does not answer in time', async () => {
    const { pool, http } = setup({ timeoutMs: 100 });
    pool.intercept({ path: '/scim/v2/Users/u1', method: 'GET' }).reply(200, USER).delay(1_000);
    const error = await failure(http.send({ method: 'GET', path: '/Users/u1' }));
    expect(error.code).toBe('SCIM_TIMEOUT');
    expect(error.kind).toBe('transient');
  });

  it('fails with SCIM_NETWORK on a connection reset', async () => {
    const { pool, http, exchanges } = setup();
    pool.intercept({ path: '/scim/v2/Users/u1', method: 'GET' }).replyWithError(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }));
    const error = await failure(http.send({ method: 'GET', path: '/Users/u1' }));
    expect(error.code).toBe('SCIM_NETWORK');
    expect(error.details.errorCode).toBe('ECONNRESET');
    expect(exchanges[0]).toMatchObject({ status: null, outcome: 'failure', errorCode: 'SCIM_NETWORK' });
  });

  it('after a 429 with Retry-After sends nothing to the target before that time', async () => {
    const { pool, http, sent } = setup();
    pool.intercept({ path: '/scim/v2/Users/u1', method: 'GET' }).reply(429, '', { headers: { 'retry-after': '1' } });
    pool.intercept({ path: '/scim/v2/Users/u2', method: 'GET' }).reply(200, { ...USER, id: 'u2' });
    const throttled = await failure(http.send({ method: 'GET', path: '/Users/u1' }));
    expect(throttled.code).toBe('SCIM_THROTTLED');
    expect(throttled.retryAfterSeconds).toBe(1);
    const answeredAt = Date.now();
    await http.send({ method: 'GET', path: '/Users/u2' });
    expect(sent).toHaveLength(2);
    expect((sent[1]?.at ?? 0) - answeredAt).toBeGreaterThanOrEqual(900);
  });

  it('a 503 with a long Retry-After makes the next request fail at once without being sent', async () => {
    const { pool, http, sent } = setup();
    pool.intercept({ path: '/scim/v2/Users/u1', method: 'GET' }).reply(503, '', { headers: { 'retry-after': '120' } });
    const first = await failure(http.send({ method: 'GET', path: '/Users/u1' }));
    expect(first).toMatchObject({ code: 'SCIM_SERVER_ERROR', retryAfterSeconds: 120 });
    const started = Date.now();
    const gated = await failure(http.send({ method: 'GET', path: '/Users/u1' }));
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(gated.code).toBe('SCIM_THROTTLED');
    expect(gated.retryAfterSeconds).toBeGreaterThan(100);
    expect(gated.retryAfterSeconds).toBeLessThanOrEqual(120);
    expect(sent).toHaveLength(1);
  });

  it('spaces requests to the profile rate', async () => {
    const { pool, http, sent } = setup({}, { requestsPerSecond: 10 });
    pool.intercept({ path: '/scim/v2/Users/u1', method: 'GET' }).reply(200, USER).times(3);
    await Promise.all([1, 2, 3].map(() => http.send({ method: 'GET', path: '/Users/u1' })));
    expect((sent[2]?.at ?? 0) - (sent[0]?.at ?? 0)).toBeGreaterThanOrEqual(150);
  });

  it('in shadow mode sends reads but no write, and reports each write', async () => {
    const { pool, target, sent, exchanges } = setup({ mode: 'shadow' });
    pool.intercept({ path: '/scim/v2/Users/u1', method: 'GET' }).reply(200, USER);
    const created = await target.createUser({ externalId: 'E-1', userName: 'ada@example.com', active: true });
    expect(created).toMatchObject({ id: 'dry-run:E-1', externalId: 'E-1', userName: 'ada@example.com' });
    await target.updateUser('u1', { title: 'CTO' }, { title: 'Engineer' });
    await target.deleteUser('u1');
    await target.addMembers('g1', ['u1']);
    expect(await target.getUser('u1')).toMatchObject({ id: 'u1' });
    expect(sent.map((s) => s.method)).toEqual(['GET']);
    expect(exchanges.map((e) => [e.method, e.outcome, e.status])).toEqual([
      ['POST', 'dry-run', null],
      ['PATCH', 'dry-run', null],
      ['DELETE', 'dry-run', null],
      ['PATCH', 'dry-run', null],
      ['GET', 'success', 200],
    ]);
    expect(exchanges[1]?.body).toMatchObject({ Operations: [{ op: 'replace', path: 'title', value: 'CTO' }] });
  });

  it('in dry-run mode sends nothing at all and plans against an empty target', async () => {
    const { target, sent, exchanges } = setup({ mode: 'dry-run' });
    expect(await target.findUser('E-1', 'ada@example.com')).toBeNull();
    expect(await target.getUser('u1')).toBeNull();
    const created = await target.createUser({ externalId: 'E-1', userName: 'ada@example.com', active: true });
    expect(created.id).toBe('dry-run:E-1');
    expect(sent).toEqual([]);
    expect(exchanges.map((e) => [e.method, e.outcome])).toEqual([
      ['GET', 'dry-run'],
      ['GET', 'dry-run'],
      ['GET', 'dry-run'],
      ['POST', 'dry-run'],
    ]);
  });

  it('never puts the token in exchanges or errors, even when the server echoes it', async () => {
    const { pool, http, exchanges } = setup();
    pool.intercept({ path: '/scim/v2/Users/u1', method: 'GET' }).reply(401, { status: 401, detail: `token ${TOKEN} is expired` });
    pool.intercept({ path: '/scim/v2/Users/u2', method: 'GET' }).replyWithError(new Error('socket hang up'));
    const errors = [
      await failure(http.send({ method: 'GET', path: '/Users/u1' })),
      await failure(http.send({ method: 'GET', path: '/Users/u2' })),
    ];
    expect(errors[0]?.code).toBe('SCIM_UNAUTHORIZED');
    expect(errors[0]?.details.detail).toContain('[redacted]');
    const text = JSON.stringify([exchanges, errors, errors.map((e) => e.message)]);
    expect(text).not.toContain(TOKEN);
  });

  it('reports every request with method, path, body, status and duration', async () => {
    const { pool, http, exchanges } = setup();
    pool.intercept({ path: '/scim/v2/Users', method: 'POST' }).reply(201, USER);
    await http.send({ method: 'POST', path: '/Users', body: { userName: 'ada@example.com' }, correlationId: 'c1' });
    expect(exchanges).toEqual([
      {
        target: 'app1',
        method: 'POST',
        path: '/Users',
        body: { userName: 'ada@example.com' },
        status: 201,
        outcome: 'success',
        durationMs: expect.any(Number),
      },
    ]);
  });
});

describe('request chokepoint over a real socket', () => {
  let server: Server | undefined;
  afterEach(async () => {
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    server = undefined;
  });

  async function listen(handler: Parameters<typeof createServer>[1]): Promise<string> {
    server = createServer(handler);
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(server?.address() as AddressInfo).port}/scim/v2`;
  }

  it('keeps its own connection pool and sends the headers to a real server', async () => {
    const seen: IncomingHttpHeaders[] = [];
    const baseUrl = await listen((req, res) => {
      seen.push(req.headers);
      res.writeHead(200, { 'content-type': 'application/scim+json' }).end(JSON.stringify(USER));
    });
    const http = new ScimRequester({ target: 't', baseUrl, token: () => TOKEN, profile: PROFILE, mode: 'live', timeoutMs: 2_000, userAgent: 'ua/1' });
    try {
      expect((await http.send({ method: 'GET', path: '/Users/u1' })).body).toEqual(USER);
    } finally {
      await http.close();
    }
    expect(seen[0]).toMatchObject({ authorization: `Bearer ${TOKEN}`, 'user-agent': 'ua/1' });
  });

  it('maps a reset connection to SCIM_NETWORK', async () => {
    const baseUrl = await listen((req) => req.socket.destroy());
    const http = new ScimRequester({ target: 't', baseUrl, token: () => TOKEN, profile: PROFILE, mode: 'live', timeoutMs: 2_000, userAgent: 'ua/1' });
    try {
      expect((await failure(http.send({ method: 'GET', path: '/Users/u1' }))).code).toBe('SCIM_NETWORK');
    } finally {
      await http.close();
    }
  });
});
