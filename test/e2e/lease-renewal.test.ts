import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from '../../src/app.js';
import { parseConfig } from '../../src/config.js';
import { openStore, type Store } from '../../src/store/index.js';
import { newStandardWebhookSecret, standardWebhookHeaders } from '../helpers/signing.js';
import { startScimServer, type ScimServerHandle } from '../helpers/scim-servers/index.js';
import { tempDirs } from '../helpers/temp-dirs.js';
import { sleep } from '../reliability/support/mode.js';

const tempDir = tempDirs();

const LEASE_MS = 3_000;
/** The first SCIM request is held this long: the sync outlasts its lease unless the lease is renewed. */
const HOLD_MS = 5_000;

/** Forwards to the real SCIM server, holding the first request; records when each one arrived. */
function slowFront(upstream: string): Promise<{ server: Server; url: string; arrivals: number[] }> {
  const arrivals: number[] = [];
  const server = createServer((req, res) => {
    arrivals.push(Date.now());
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        if (arrivals.length === 1) await sleep(HOLD_MS);
        const headers = Object.fromEntries(Object.entries(req.headers).filter(([k]) => !['host', 'connection', 'content-length'].includes(k))) as Record<string, string>;
        const body = chunks.length ? Buffer.concat(chunks) : undefined;
        const answer = await fetch(`${upstream}${req.url!.replace(/^\/scim\/v2/, '')}`, { method: req.method!, headers, ...(body ? { body } : {}) });
        res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/scim+json' });
        res.end(Buffer.from(await answer.arrayBuffer()));
      })().catch(() => res.destroy());
    });
  });
  return new Promise((done) => server.listen(0, '127.0.0.1', () => done({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/scim/v2`, arrivals })));
}

/**
 * A sync that takes longer than its lease keeps its pair: the worker renews the leases of the syncs it
 * is running, on the real clock, so another replica cannot claim the pair and create the account twice.
 */
describe('lease renewal of a sync that outlasts its lease', () => {
  let scim: ScimServerHandle;
  let front: Awaited<ReturnType<typeof slowFront>>;
  let app: App;
  let other: Store;
  let url: string;
  const secret = newStandardWebhookSecret();

  beforeAll(async () => {
    scim = await startScimServer('scimmy');
    front = await slowFront(scim.baseUrl);
    const dir = await tempDir('lease-renewal-');
    const parsed = parseConfig({
      server: { host: '127.0.0.1', port: 0 },
      store: { url: `sqlite:${join(dir, 'bridge.db')}` },
      sources: [{ name: 'hr', type: 'standard-webhooks', secret }],
      targets: [{ name: 'app', baseUrl: front.url, auth: { type: 'bearer', token: scim.token }, mapping: resolve('mappings/generic.yaml'), mode: 'live', timeoutMs: 10_000 }],
      worker: { pollMs: 20 },
      log: { level: 'warn' },
    });
    // Shorter than the configuration allows, so that the test waits seconds rather than minutes.
    const config = { ...parsed, worker: { ...parsed.worker, leaseSeconds: LEASE_MS / 1000 } };
    app = await createApp(config, { logDestination: new Writable({ write: (_c, _e, done) => done() }), startWorker: true });
    url = await app.server!.listen({ host: '127.0.0.1', port: 0 });
    other = await openStore(`sqlite:${join(dir, 'bridge.db')}`);
  }, 30_000);
  afterAll(async () => {
    await other?.close();
    await app?.close();
    await new Promise((r) => front?.server.close(r));
    await scim?.stop();
  });

  it('keeps the pair from another replica until the sync ends, and creates the account once', async () => {
    const body = JSON.stringify({ type: 'employee.upserted', timestamp: new Date().toISOString(), data: { id: 'E-1', version: 1, status: 'active', givenName: 'Slow', familyName: 'Sync', workEmail: 'slow.sync@example.com' } });
    const res = await fetch(`${url}/webhooks/hr`, { method: 'POST', headers: standardWebhookHeaders('msg_lease_1', Math.floor(Date.now() / 1000), body, secret), body });
    expect(res.status).toBe(202);

    const firstBy = Date.now() + 10_000;
    while (front.arrivals.length === 0 && Date.now() < firstBy) await sleep(20);
    expect(front.arrivals.length, 'the sync never reached the target').toBeGreaterThan(0);
    const started = front.arrivals[0]!;
    // Past the lease the sync was claimed with, still inside the held request.
    await sleep(started + LEASE_MS + 1_000 - Date.now());
    expect(front.arrivals).toHaveLength(1);
    expect(await other.claimPairs('other-replica', Date.now(), 60_000, 10, [])).toEqual([]);

    const deadline = Date.now() + 15_000;
    while ((await scim.listUsers()).length === 0 && Date.now() < deadline) await sleep(50);
    const users = await scim.listUsers();
    expect(users.map((u) => u.externalId)).toEqual(['E-1']);
    expect(Date.now() - started).toBeGreaterThanOrEqual(HOLD_MS);
  }, 30_000);
});
