import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KyselyStore } from '../../src/store/kysely-store.js';
import { startBridge, type BridgeHarness } from '../helpers/bridge.js';
import { startScimServer, type ScimServerHandle } from '../helpers/scim-servers/index.js';
import { newStandardWebhookSecret, signStandardWebhook, standardWebhookHeaders } from '../helpers/signing.js';

type Json = Record<string, unknown>;

const ADMIN_TOKEN = `adm_${randomBytes(24).toString('base64url')}`;
const WRONG_ADMIN_TOKEN = `adm_${randomBytes(24).toString('base64url')}`;
const WRONG_SCIM_TOKEN = `scim_${randomBytes(24).toString('base64url')}`;

function employee(id: string, over: Json = {}): Json {
  const local = id.replace(/\W/g, '').toLowerCase();
  return { id, version: 1, status: 'active', givenName: 'Ada', familyName: `Person${local}`, workEmail: `${local}@example.com`, department: 'Engineering', startDate: '2026-01-05', ...over };
}

/**
 * One scenario touching every place a credential passes through (signed and forged deliveries,
 * admin calls, SCIM traffic with a good and a refused token), then a scan of everything the bridge
 * said: log lines, response bodies, and the audit and delivery rows that are shipped or exported.
 */
describe('secrets and signatures never leave the bridge', () => {
  let scim: ScimServerHandle;
  let bridge: BridgeHarness;
  const said: string[] = [];
  const signatures: string[] = [];

  const record = (text: string) => said.push(text);

  async function deliver(headers: Record<string, string>, body: string, source = 'hr'): Promise<number> {
    if (headers['webhook-signature']) signatures.push(headers['webhook-signature']);
    const res = await bridge.post(`/webhooks/${source}`, headers, body);
    record(JSON.stringify(res.body));
    record([...res.headers].map(([k, v]) => `${k}: ${v}`).join('\n'));
    return res.status;
  }

  async function request(method: 'GET' | 'POST', path: string, authorization?: string): Promise<number> {
    const res = await fetch(`${bridge.url}${path}`, { method, headers: authorization ? { authorization } : {} });
    record(await res.text());
    record([...res.headers].map(([k, v]) => `${k}: ${v}`).join('\n'));
    return res.status;
  }

  const envelope = (data: Json) => JSON.stringify({ type: 'employee.upserted', timestamp: new Date(bridge.clock.now()).toISOString(), data });
  const nowSeconds = () => Math.floor(bridge.clock.now() / 1000);

  beforeAll(async () => {
    scim = await startScimServer('better-auth');
    bridge = await startBridge({
      targets: [
        { name: 'app', baseUrl: scim.baseUrl, token: scim.token },
        // The same server with a token it does not know: the refusal path logs and pauses.
        { name: 'stale-cred', baseUrl: scim.baseUrl, token: WRONG_SCIM_TOKEN },
      ],
      adminToken: ADMIN_TOKEN,
    });
  });
  afterAll(async () => {
    await bridge?.close();
    await scim?.stop();
  });

  it('runs the scenario', async () => {
    // Authentic deliveries, one per employee.
    for (const id of ['E-R1', 'E-R2', 'E-R3']) {
      const body = envelope(employee(id, { managerId: id === 'E-R1' ? null : 'E-R1' }));
      expect(await deliver(standardWebhookHeaders(`msg_${id}`, nowSeconds(), body, bridge.secret), body)).toBe(202);
    }
    // The same delivery again, and an authentic one whose body fails the schema.
    const dupBody = envelope(employee('E-R1'));
    expect(await deliver(standardWebhookHeaders('msg_E-R1', nowSeconds(), dupBody, bridge.secret), dupBody)).toBe(200);
    const badBody = envelope(employee('E-R4', { status: 'fired' }));
    expect(await deliver(standardWebhookHeaders('msg_bad', nowSeconds(), badBody, bridge.secret), badBody)).toBe(400);

    // Forgeries: another key, a tampered body, garbage, several candidates, Svix names, a stale replay.
    const forged = envelope(employee('E-X1'));
    expect(await deliver(standardWebhookHeaders('msg_forged1', nowSeconds(), forged, newStandardWebhookSecret()), forged)).toBe(401);
    const tampered = standardWebhookHeaders('msg_forged2', nowSeconds(), forged, bridge.secret);
    expect(await deliver(tampered, forged.replace('Ada', 'Eve'))).toBe(401);
    const garbage = `v1,${randomBytes(32).toString('base64')}`;
    expect(await deliver({ 'content-type': 'application/json', 'webhook-id': 'msg_forged3', 'webhook-timestamp': String(nowSeconds()), 'webhook-signature': garbage }, forged)).toBe(401);
    const several = [1, 2, 3].map(() => signStandardWebhook('msg_forged4', nowSeconds(), forged, newStandardWebhookSecret())).join(' ');
    expect(await deliver({ 'content-type': 'application/json', 'webhook-id': 'msg_forged4', 'webhook-timestamp': String(nowSeconds()), 'webhook-signature': several }, forged)).toBe(401);
    const svixSignature = signStandardWebhook('msg_forged5', nowSeconds(), forged, newStandardWebhookSecret());
    signatures.push(svixSignature);
    expect(await deliver({ 'content-type': 'application/json', 'svix-id': 'msg_forged5', 'svix-timestamp': String(nowSeconds()), 'svix-signature': svixSignature }, forged)).toBe(401);
    const replay = standardWebhookHeaders('msg_replay', nowSeconds() - 3600, forged, bridge.secret);
    expect(await deliver(replay, forged)).toBe(401);
    expect(await deliver(standardWebhookHeaders('msg_elsewhere', nowSeconds(), forged, bridge.secret), forged, 'no-such-source')).toBe(404);
    const html = { ...standardWebhookHeaders('msg_html', nowSeconds(), forged, bridge.secret), 'content-type': 'text/html' };
    expect(await deliver(html, forged)).toBe(415);

    // Admin calls with wrong, malformed and right tokens.
    expect(await request('GET', '/admin/employees/E-R1')).toBe(401);
    expect(await request('GET', '/admin/employees/E-R1', `Bearer ${WRONG_ADMIN_TOKEN}`)).toBe(401);
    expect(await request('POST', '/admin/targets/app/pause', `Basic ${ADMIN_TOKEN}`)).toBe(401);
    expect(await request('GET', '/admin/pairs/failed', `Bearer ${ADMIN_TOKEN}x`)).toBe(401);

    // Convergence against the real server: one target succeeds, the other is refused and paused.
    await bridge.settle();
    expect((await scim.listUsers()).map((u) => u.externalId).sort()).toEqual(['E-R1', 'E-R2', 'E-R3']);
    expect((await bridge.app.store.pausedTargets()).map((t) => t.name)).toEqual(['stale-cred']);

    expect(await request('GET', '/admin/employees/E-R2', `Bearer ${ADMIN_TOKEN}`)).toBe(200);
    expect(await request('POST', '/admin/employees/E-R2/sync', `Bearer ${ADMIN_TOKEN}`)).toBe(200);
    expect(await request('GET', '/admin/targets/paused', `Bearer ${ADMIN_TOKEN}`)).toBe(200);
    expect(await request('GET', '/admin/pairs/failed', `Bearer ${ADMIN_TOKEN}`)).toBe(200);
    expect(await request('GET', '/admin/audit/verify', `Bearer ${ADMIN_TOKEN}`)).toBe(200);
    await bridge.settle();
    expect(await request('GET', '/metrics')).toBe(200);
    expect(await request('GET', '/readyz')).toBe(200);
  });

  it('leaves no secret, token or signature in any log line, response, audit row or kept delivery', async () => {
    const db = (bridge.app.store as KyselyStore).db;
    const auditRows = await db.selectFrom('audit').selectAll().execute();
    const deliveryRows = await db.selectFrom('deliveries').selectAll().execute();
    const haystack = [...bridge.logs, ...said, ...auditRows.map((r) => JSON.stringify(r)), ...deliveryRows.map((r) => JSON.stringify(r))];

    // The scan is only worth something if the scenario was seen: SCIM traffic, refusals and admin use.
    expect(bridge.logs.some((l) => l.includes('"scim.request"'))).toBe(true);
    expect(bridge.logs.some((l) => l.includes('"delivery.rejected"'))).toBe(true);
    expect(bridge.logs.some((l) => l.includes('"target.paused"'))).toBe(true);
    expect(haystack.some((l) => l.includes('msg_E-R2'))).toBe(true);

    const webhookKey = bridge.secret.slice('whsec_'.length);
    const needles: Array<[string, string]> = [
      ['webhook secret', bridge.secret],
      ['webhook secret, base64 part', webhookKey],
      ['webhook key, hex', Buffer.from(webhookKey, 'base64').toString('hex')],
      ['SCIM bearer token', scim.token],
      ['refused SCIM bearer token', WRONG_SCIM_TOKEN],
      ['admin token', ADMIN_TOKEN],
      ['wrong admin token', WRONG_ADMIN_TOKEN],
    ];
    for (const header of signatures) {
      needles.push(['signature header', header]);
      for (const entry of header.split(' ')) needles.push(['signature value', entry.slice(entry.indexOf(',') + 1)]);
    }
    expect(signatures.length).toBeGreaterThanOrEqual(10);

    const hits = needles.flatMap(([what, needle]) => haystack.filter((line) => line.includes(needle)).map((line) => `${what} in: ${line.slice(0, 300)}`));
    expect(hits).toEqual([]);
  });
});
