import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KyselyStore } from '../../src/store/kysely-store.js';
import { startBridge, type BridgeHarness } from '../helpers/bridge.js';
import { startScimServer, type ScimServerHandle } from '../helpers/scim-servers/index.js';
import { newStandardWebhookSecret, standardWebhookHeaders } from '../helpers/signing.js';

type Json = Record<string, unknown>;

const ADMIN_TOKEN = `adm_${newStandardWebhookSecret(24).slice('whsec_'.length)}`;
const DRY_RUN_TARGET = { name: 'app', baseUrl: 'http://127.0.0.1:9/scim/v2', token: 'dry-run-token', mode: 'dry-run' as const };

function employee(id: string, over: Json = {}): Json {
  const local = id.replace(/\W/g, '').toLowerCase();
  return { id, version: 1, status: 'active', givenName: 'Ada', familyName: `Person${local}`, workEmail: `${local}@example.com`, department: 'Engineering', startDate: '2026-01-05', ...over };
}

async function call(bridge: BridgeHarness, method: 'GET' | 'POST', path: string, authorization?: string): Promise<{ status: number; body: Json; headers: Headers }> {
  const res = await fetch(`${bridge.url}${path}`, { method, headers: authorization === undefined ? {} : { authorization } });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Json) : {}, headers: res.headers };
}

const admin = (bridge: BridgeHarness, method: 'GET' | 'POST', path: string) => call(bridge, method, path, `Bearer ${ADMIN_TOKEN}`);

/** Every label value of every sample in a Prometheus text exposition. */
function labelValues(exposition: string): string[] {
  const values: string[] = [];
  for (const line of exposition.split('\n')) {
    if (line.startsWith('#')) continue;
    const labels = /\{(.*)\}/.exec(line)?.[1];
    if (!labels) continue;
    for (const m of labels.matchAll(/[a-zA-Z_]+="((?:[^"\\]|\\.)*)"/g)) values.push(m[1]!);
  }
  return values;
}

describe('ops routes', () => {
  let bridge: BridgeHarness;

  beforeAll(async () => {
    bridge = await startBridge({ targets: [DRY_RUN_TARGET] });
  });
  afterAll(async () => {
    await bridge?.close().catch(() => undefined);
  });

  it('GET /livez answers 200', async () => {
    const res = await call(bridge, 'GET', '/livez');
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('ok');
  });

  it('GET /readyz answers 200 with no problems while the store answers', async () => {
    const res = await call(bridge, 'GET', '/readyz');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ready', problems: [] });
  });

  it('counts deliveries by source and outcome, never by employee id or by an unconfigured source name', async () => {
    expect((await bridge.send(employee('E-METRIC-1'))).status).toBe(202);
    const body = JSON.stringify({ type: 'employee.upserted', timestamp: new Date(bridge.clock.now()).toISOString(), data: employee('E-METRIC-2') });
    const forged = standardWebhookHeaders('msg_forged_metric', Math.floor(bridge.clock.now() / 1000), body, newStandardWebhookSecret());
    expect((await bridge.post('/webhooks/hr', forged, body)).status).toBe(401);
    expect((await bridge.post('/webhooks/E-METRIC-3', forged, body)).status).toBe(404);

    const res = await fetch(`${bridge.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await res.text();
    expect(text).toMatch(/^hrscim_webhooks_received_total\{source="hr",outcome="accepted"\} 1$/m);
    expect(text).toMatch(/^hrscim_webhooks_received_total\{source="hr",outcome="rejected_signature"\} 1$/m);
    expect(text).toMatch(/^hrscim_webhooks_received_total\{source="unknown",outcome="rejected_source"\} 1$/m);
    // A path segment chosen by the caller would otherwise grow the series without bound.
    expect(labelValues(text).filter((v) => v.includes('E-METRIC'))).toEqual([]);
    expect(text).not.toContain('E-METRIC');
  });

  it('GET /readyz answers 503 naming the problem once the store is gone', async () => {
    await (bridge.app.store as KyselyStore).db.destroy();
    const res = await call(bridge, 'GET', '/readyz');
    expect(res.status).toBe(503);
    expect(res.body.status).toBe('not ready');
    expect(res.body.problems).toEqual(['store unavailable']);
    // Liveness is about the process only: a lost database is a readiness matter, not a restart.
    expect((await call(bridge, 'GET', '/livez')).status).toBe(200);
  });
});

describe('readiness during shutdown', () => {
  it('is never ready once close() has begun, drains an in-flight delivery and then completes', async () => {
    const bridge = await startBridge({ targets: [DRY_RUN_TARGET] });
    expect((await call(bridge, 'GET', '/readyz')).status).toBe(200);
    const store = bridge.app.store;
    const intake = store.intake.bind(store);
    let entered!: () => void;
    const inIntake = new Promise<void>((resolve) => {
      entered = resolve;
    });
    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    // Holds one delivery inside the store so close() has a request to drain.
    store.intake = async (input) => {
      entered();
      await released;
      return intake(input);
    };
    const inFlight = bridge.send(employee('E-DRAIN'));
    await inIntake;

    const closing = bridge.close();
    const during = await call(bridge, 'GET', '/readyz').catch(() => null);
    // The listener may already be gone, or fastify sheds the request, or readiness itself says why.
    if (during) {
      expect(during.status).toBe(503);
      if (Array.isArray(during.body.problems)) expect(during.body.problems).toContain('shutting down');
    }

    // Only once the listener is closed does the held delivery finish, so its keep-alive connection
    // outlives server.close(); close() must still complete (a hang here ends in the test timeout).
    const listener = bridge.app.server!.server;
    while (listener.listening) await new Promise((resolve) => setImmediate(resolve));
    release();
    const answered = await inFlight;
    expect(answered.status).toBe(202);
    await closing;
    await expect(fetch(`${bridge.url}/readyz`)).rejects.toThrow();
  });
});

describe('metrics of SCIM traffic', () => {
  let scim: ScimServerHandle;
  let bridge: BridgeHarness;

  beforeAll(async () => {
    scim = await startScimServer('scimmy');
    bridge = await startBridge({ targets: [{ name: 'app', baseUrl: scim.baseUrl, token: scim.token }] });
  });
  afterAll(async () => {
    await bridge?.close();
    await scim?.stop();
  });

  it('counts SCIM requests by target, method and status class after a sync', async () => {
    expect((await bridge.send(employee('E-SCIM-1'))).status).toBe(202);
    await bridge.settle();
    expect((await scim.listUsers()).map((u) => u.externalId)).toContain('E-SCIM-1');

    const text = await (await fetch(`${bridge.url}/metrics`)).text();
    expect(text).toMatch(/^hrscim_scim_requests_total\{target="app",method="POST",status_class="2xx"\} [1-9]\d*$/m);
    expect(text).toMatch(/^hrscim_scim_request_duration_seconds_count\{target="app",method="POST"\} [1-9]\d*$/m);
    const scimId = (await scim.listUsers()).find((u) => u.externalId === 'E-SCIM-1')?.id as string;
    expect(labelValues(text).filter((v) => v.includes('E-SCIM-1') || v.includes(scimId) || v.includes('@example.com'))).toEqual([]);
  });
});

describe('admin API', () => {
  let scim: ScimServerHandle;
  let bridge: BridgeHarness;
  const users = async () => new Map((await scim.listUsers()).map((u) => [u.externalId as string, u]));

  beforeAll(async () => {
    scim = await startScimServer('scimmy');
    bridge = await startBridge({ targets: [{ name: 'app', baseUrl: scim.baseUrl, token: scim.token }], adminToken: ADMIN_TOKEN });
  });
  afterAll(async () => {
    await bridge?.close();
    await scim?.stop();
  });

  it.each([
    ['no authorization header', undefined],
    ['an empty bearer', 'Bearer '],
    ['a wrong token', 'Bearer not-the-admin-token'],
    ['the right token under another scheme', `Basic ${ADMIN_TOKEN}`],
    ['a prefix of the right token', `Bearer ${ADMIN_TOKEN.slice(0, -1)}`],
  ])('refuses %s with 401 and www-authenticate', async (_what, authorization) => {
    for (const [method, path] of [['GET', '/admin/employees/E-1'], ['POST', '/admin/targets/app/pause'], ['GET', '/admin/audit/verify']] as const) {
      const res = await call(bridge, method, path, authorization);
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer');
      expect((res.body.error as Json).code).toBe('ADMIN_UNAUTHORIZED');
      expect(JSON.stringify(res.body)).not.toContain(ADMIN_TOKEN.slice(4));
    }
    // A refused pause must not have paused anything.
    expect(await bridge.app.store.pausedTargets()).toEqual([]);
  });

  it('GET /admin/employees/:id shows the record and its pair at each target', async () => {
    expect((await bridge.send(employee('E-ADM-1', { title: 'Engineer' }))).status).toBe(202);
    let res = await admin(bridge, 'GET', '/admin/employees/E-ADM-1');
    expect(res.status).toBe(200);
    expect(res.body.record).toMatchObject({ id: 'E-ADM-1', title: 'Engineer' });
    expect(res.body.pairs).toEqual([expect.objectContaining({ target: 'app', dirty: true, scimId: null })]);

    await bridge.settle();
    const scimId = (await users()).get('E-ADM-1')?.id;
    expect(scimId).toBeTruthy();
    res = await admin(bridge, 'GET', '/admin/employees/E-ADM-1');
    expect(res.body.pairs).toEqual([expect.objectContaining({ target: 'app', dirty: false, scimId, state: 'active', status: 'ok' })]);

    expect((await admin(bridge, 'GET', '/admin/employees/E-NOBODY')).status).toBe(404);
  });

  it('POST /admin/employees/:id/sync marks the pairs dirty again and the worker reconverges', async () => {
    expect((await bridge.send(employee('E-ADM-2'))).status).toBe(202);
    await bridge.settle();
    expect((await bridge.app.store.employeeStatus('E-ADM-2')).pairs[0]?.dirty).toBe(false);

    const res = await admin(bridge, 'POST', '/admin/employees/E-ADM-2/sync');
    expect(res.status).toBe(200);
    expect(res.body.requeued).toBe(1);
    expect(res.body.correlationId).toMatch(/^[0-9a-f-]{36}$/);
    expect((await bridge.app.store.employeeStatus('E-ADM-2')).pairs[0]?.dirty).toBe(true);

    expect(await bridge.settle()).toBeGreaterThan(0);
    expect((await bridge.app.store.employeeStatus('E-ADM-2')).pairs[0]).toMatchObject({ dirty: false, status: 'ok' });
  });

  it('pausing a target stops all claims for it; resuming lets it converge', async () => {
    const paused = await admin(bridge, 'POST', '/admin/targets/app/pause');
    expect(paused.status).toBe(200);
    expect(paused.body).toEqual({ paused: 'app' });
    expect((await admin(bridge, 'GET', '/admin/targets/paused')).body.paused).toEqual([expect.objectContaining({ name: 'app' })]);

    expect((await bridge.send(employee('E-ADM-3'))).status).toBe(202);
    expect(await bridge.settle()).toBe(0);
    expect((await users()).has('E-ADM-3')).toBe(false);
    expect((await bridge.app.store.employeeStatus('E-ADM-3')).pairs[0]?.dirty).toBe(true);

    const resumed = await admin(bridge, 'POST', '/admin/targets/app/resume');
    expect(resumed.status).toBe(200);
    expect((await admin(bridge, 'GET', '/admin/targets/paused')).body.paused).toEqual([]);
    expect(await bridge.settle()).toBeGreaterThan(0);
    expect((await users()).get('E-ADM-3')?.active).toBe(true);
    expect((await bridge.app.store.employeeStatus('E-ADM-3')).pairs[0]?.dirty).toBe(false);
  });

  it('refuses to pause or resume a target that is not configured', async () => {
    expect((await admin(bridge, 'POST', '/admin/targets/nope/pause')).status).toBe(404);
    expect((await admin(bridge, 'POST', '/admin/targets/nope/resume')).status).toBe(404);
    expect(await bridge.app.store.pausedTargets()).toEqual([]);
  });

  it('GET /admin/pairs/failed lists a pair that failed permanently, with its reason', async () => {
    expect((await admin(bridge, 'GET', '/admin/pairs/failed')).body.failed).toEqual([]);
    // Without a work email the generic mapping has no userName: a permanent mapping failure.
    expect((await bridge.send(employee('E-ADM-4', { workEmail: null }))).status).toBe(202);
    await bridge.settle();
    const res = await admin(bridge, 'GET', '/admin/pairs/failed');
    expect(res.status).toBe(200);
    const failed = res.body.failed as Json[];
    expect(failed).toEqual([expect.objectContaining({ employeeId: 'E-ADM-4', target: 'app', status: 'failed' })]);
    expect(String(failed[0]!.lastError)).not.toBe('');
    expect((await users()).has('E-ADM-4')).toBe(false);
  });

  it('GET /admin/audit/verify reports an intact chain covering what happened', async () => {
    const res = await admin(bridge, 'GET', '/admin/audit/verify');
    expect(res.status).toBe(200);
    expect(res.body.ok).toBe(true);
    expect(res.body.rows).toBeGreaterThan(5);

    // The verifier has to be able to say no: break one row and ask again.
    const db = (bridge.app.store as KyselyStore).db;
    const row = await db.selectFrom('audit').select(['seq', 'details']).orderBy('seq').limit(1).offset(2).executeTakeFirstOrThrow();
    await db.updateTable('audit').set({ details: '{"tampered":true}' }).where('seq', '=', row.seq).execute();
    try {
      const broken = await admin(bridge, 'GET', '/admin/audit/verify');
      expect(broken.body.ok).toBe(false);
      expect(broken.body.brokenAt).toBe(Number(row.seq));
    } finally {
      await db.updateTable('audit').set({ details: row.details }).where('seq', '=', row.seq).execute();
    }
    expect((await admin(bridge, 'GET', '/admin/audit/verify')).body.ok).toBe(true);
  });
});

describe('admin API without a configured token', () => {
  it('is not served at all, whatever the caller sends', async () => {
    const bridge = await startBridge({ targets: [DRY_RUN_TARGET] });
    try {
      for (const authorization of [undefined, 'Bearer ', 'Bearer anything']) {
        const res = await call(bridge, 'GET', '/admin/audit/verify', authorization);
        expect(res.status).toBe(404);
        expect(res.body.ok).toBeUndefined();
      }
    } finally {
      await bridge.close();
    }
  });
});
