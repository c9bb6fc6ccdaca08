import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startScimServer, type ScimServerHandle } from '../helpers/scim-servers/index.js';
import { newStandardWebhookSecret, standardWebhookHeaders } from '../helpers/signing.js';
import { startInProcess, type InProcessBridge } from './support/in-process.js';
import { SecretScanner } from './support/secret-scan.js';

type Json = Record<string, unknown>;
const ADMIN_TOKEN = `sec-admin-${Math.random().toString(36).slice(2)}${Math.random().toString(36).slice(2)}`;

function employee(id: string, over: Json = {}): Json {
  const local = id.replace(/[^a-z0-9]/gi, '').toLowerCase() || 'x';
  return { id, version: 1, status: 'active', givenName: 'Sec', familyName: `Person ${local}`, workEmail: `${local}@example.com`, title: 'Engineer', department: 'Engineering', startDate: '2026-01-05', ...over };
}

describe('security: the webhook and admin surfaces refuse what they must, and nothing secret leaks', () => {
  const scanner = new SecretScanner();
  let scim: ScimServerHandle;
  let bridge: InProcessBridge;
  let n = 0;

  const call = async (method: string, path: string, headers: Record<string, string>, body?: string | Buffer): Promise<{ status: number; json: Json; text: string }> => {
    const res = await fetch(`${bridge.url}${path}`, { method, headers, ...(body !== undefined ? { body } : {}) });
    const text = await res.text();
    scanner.scan(`answer to ${method} ${path}`, text);
    let json: Json;
    try {
      json = text ? (JSON.parse(text) as Json) : {};
    } catch {
      json = { text };
    }
    return { status: res.status, json, text };
  };

  const signed = (data: Json, opts: { id?: string; ts?: number; secret?: string; type?: string } = {}) => {
    n += 1;
    const id = opts.id ?? `msg_sec_${n}`;
    const ts = opts.ts ?? Math.floor(bridge.clock.now() / 1000);
    const body = JSON.stringify({ type: opts.type ?? 'employee.upserted', timestamp: new Date(bridge.clock.now()).toISOString(), data });
    const headers = standardWebhookHeaders(id, ts, body, opts.secret ?? bridge.secret);
    scanner.addSignature(headers['webhook-signature']!);
    return { id, body, headers };
  };
  const send = async (data: Json, opts: Parameters<typeof signed>[1] = {}) => {
    const d = signed(data, opts);
    return { ...(await call('POST', '/webhooks/hr', d.headers, d.body)), id: d.id };
  };
  const record = async (id: string) => (await call('GET', `/admin/employees/${encodeURIComponent(id)}`, { authorization: `Bearer ${ADMIN_TOKEN}` })).json.record as Json | null | undefined;

  beforeAll(async () => {
    scim = await startScimServer('scimmy');
    bridge = await startInProcess({
      targets: [{ name: 'app', baseUrl: scim.baseUrl, auth: { type: 'bearer', token: scim.token }, mapping: resolve('mappings/generic.yaml'), requestsPerSecond: 1000 }],
      adminToken: ADMIN_TOKEN,
      logLevel: 'debug',
      onLog: (line) => scanner.scan('bridge log', line),
    });
    scanner.addSecret('the webhook secret', bridge.secret);
    scanner.addSecret('the admin token', ADMIN_TOKEN);
    scanner.addSecret('the SCIM bearer token', scim.token);
  });

  afterAll(async () => {
    await bridge?.close();
    await scim?.stop();
  });

  it('refuses a forged signature and a stale or future timestamp, with no effect', async () => {
    const forged = await send(employee('E-forged'), { secret: newStandardWebhookSecret() });
    expect(forged.status, `delivery ${forged.id}`).toBe(401);
    const now = Math.floor(bridge.clock.now() / 1000);
    for (const ts of [now - 301, now - 86_400, now + 301]) {
      const stale = await send(employee('E-forged'), { ts });
      expect(stale.status, `delivery ${stale.id} at ${ts - now} s`).toBe(401);
    }
    const tampered = signed(employee('E-forged'));
    const res = await call('POST', '/webhooks/hr', tampered.headers, tampered.body.replace('Engineer', 'Director'));
    expect(res.status, `delivery ${tampered.id} with its body changed after signing`).toBe(401);
    expect(await record('E-forged')).toBeUndefined();
  });

  it('deduplicates a replay inside the window: 200 duplicate and one effect', async () => {
    const first = signed(employee('E-replay', { title: 'Original' }));
    expect((await call('POST', '/webhooks/hr', first.headers, first.body)).status).toBe(202);
    const replay = await call('POST', '/webhooks/hr', first.headers, first.body);
    expect(replay.status, `replay of ${first.id}`).toBe(200);
    expect(replay.json.status).toBe('duplicate');
    // Same id, new body, validly signed: still the same delivery, so still no second effect.
    const sameId = await send(employee('E-replay', { version: 2, title: 'Replayed' }), { id: first.id });
    expect(sameId.status, `delivery ${first.id} re-sent with another body`).toBe(200);
    expect((await record('E-replay'))?.title).toBe('Original');
    await bridge.settle();
    const accounts = (await scim.listUsers()).filter((u) => u.externalId === 'E-replay');
    expect(accounts.map((u) => u.title)).toEqual(['Original']);
  });

  it('answers 413 to an oversized body, 415 to a wrong content type and 404 to an unknown source', async () => {
    const big = await send(employee('E-big', { title: 'x'.repeat(300 * 1024) }));
    expect(big.status, `delivery ${big.id}`).toBe(413);
    for (const type of ['text/html', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=b', 'application/xml']) {
      const d = signed(employee('E-type'));
      const res = await call('POST', '/webhooks/hr', { ...d.headers, 'content-type': type }, d.body);
      expect(res.status, `delivery ${d.id} as ${type}`).toBe(415);
    }
    for (const source of ['nope', 'HR', '..%2Fadmin', 'hr%00']) {
      const d = signed(employee('E-source'));
      const res = await call('POST', `/webhooks/${source}`, d.headers, d.body);
      expect(res.status, `delivery ${d.id} to source ${source}`).toBe(404);
    }
    expect(await record('E-big')).toBeUndefined();
    expect(await record('E-type')).toBeUndefined();
  });

  it('keeps HR fields crafted to inject into a SCIM filter to their own account', async () => {
    for (const id of ['E-a', 'E-b', 'E-c']) expect((await send(employee(id))).status).toBe(202);
    await bridge.settle();
    const snapshot = async () => new Map((await scim.listUsers()).map((u) => [String(u.externalId), JSON.stringify(u)]));
    const before = await snapshot();
    const crafted = [
      { id: 'x" or userName pr or userName eq "y', workEmail: 'inject1@example.com' },
      { id: 'E-mail-inject', workEmail: 'x" or userName pr or userName eq "y@example.com' },
      { id: 'E-a" or externalId pr or externalId eq "', workEmail: 'inject3@example.com' },
      { id: 'E-b\\" or true', workEmail: 'e-a@example.com" or "1" eq "1' },
    ];
    for (const c of crafted) {
      const res = await send(employee(c.id, { workEmail: c.workEmail, title: 'Injected v1' }));
      expect(res.status, `delivery ${res.id} for ${c.id}`).toBe(202);
    }
    await bridge.settle();
    for (const c of crafted) expect((await send(employee(c.id, { version: 2, workEmail: c.workEmail, title: 'Injected v2', status: 'terminated' }))).status).toBe(202);
    await bridge.settle();
    const after = await snapshot();
    for (const [externalId, user] of before) expect(after.get(externalId), `${externalId} was touched by a crafted delivery`).toBe(user);
    const users = await scim.listUsers();
    for (const c of crafted) {
      const own = users.filter((u) => u.externalId === c.id);
      // An id a server cannot be trusted to search for may have no account; it must never have two.
      expect(own.length, `${c.id}: accounts`).toBeLessThanOrEqual(1);
      for (const u of own) expect([u.title, u.active], `${c.id}: its own account`).toEqual(['Injected v2', false]);
    }
  });

  it('answers 401 on every admin route without the right bearer token', async () => {
    const routes: Array<[string, string]> = [
      ['GET', '/admin/employees/E-a'],
      ['POST', '/admin/employees/E-a/sync'],
      ['POST', '/admin/reconcile'],
      ['GET', '/admin/pairs/failed'],
      ['GET', '/admin/targets/paused'],
      ['POST', '/admin/targets/app/pause'],
      ['POST', '/admin/targets/app/resume'],
      ['GET', '/admin/audit/verify'],
    ];
    const wrong: Array<Record<string, string>> = [
      {},
      { authorization: 'Bearer' },
      { authorization: 'Bearer ' },
      { authorization: `Bearer ${ADMIN_TOKEN}x` },
      { authorization: `Bearer ${ADMIN_TOKEN.slice(0, -1)}` },
      { authorization: `Basic ${Buffer.from(`admin:${ADMIN_TOKEN}`).toString('base64')}` },
      { authorization: `bearer${ADMIN_TOKEN}` },
    ];
    for (const [method, path] of routes) {
      for (const headers of wrong) {
        const res = await call(method, path, headers);
        expect(res.status, `${method} ${path} with ${JSON.stringify(Object.keys(headers))}`).toBe(401);
      }
    }
    expect(await bridge.app.store.pausedTargets()).toEqual([]);
    expect((await call('GET', '/admin/targets/paused', { authorization: `Bearer ${ADMIN_TOKEN}` })).status).toBe(200);
  });

  it('wrote no secret, token or signature to any log line or answer', () => {
    expect(scanner.scanned).toBeGreaterThan(50);
    expect(scanner.hits, scanner.report()).toEqual([]);
  });
});
