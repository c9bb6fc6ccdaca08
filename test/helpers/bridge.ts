import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { createApp, type App } from '../../src/app.js';
import { parseConfig } from '../../src/config.js';
import { newStandardWebhookSecret, standardWebhookHeaders } from './signing.js';

export interface HarnessTarget {
  name: string;
  baseUrl: string;
  token: string;
  mapping?: string;
  mode?: 'live' | 'dry-run' | 'shadow';
  policy?: Record<string, unknown>;
  timeoutMs?: number;
}

export interface BridgeHarness {
  app: App;
  url: string;
  secret: string;
  /** Every log line the bridge wrote, for assertions and secret scans. */
  logs: string[];
  clock: { now(): number; set(ms: number): void; advanceDays(days: number): void };
  /** Signs and posts a Standard Webhooks delivery to /webhooks/hr. */
  send(data: Record<string, unknown>, opts?: { id?: string; type?: string }): Promise<{ status: number; body: Record<string, unknown>; id: string }>;
  post(path: string, headers: Record<string, string>, body: string | Buffer): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }>;
  /** Runs the worker until nothing is due at the current clock time. */
  settle(): Promise<number>;
  close(): Promise<void>;
}

let deliveries = 0;

/**
 * The bridge in this process, listening on 127.0.0.1, with its clock under the test's control and a
 * worker that runs only when the test asks (settle), so each step's outcome is deterministic.
 */
export async function startBridge(options: { targets: HarnessTarget[]; sources?: unknown[]; start?: string; adminToken?: string; worker?: Record<string, unknown> }): Promise<BridgeHarness> {
  const secret = newStandardWebhookSecret();
  const dir = mkdtempSync(join(tmpdir(), 'bridge-'));
  let now = Date.parse(options.start ?? '2026-12-04T10:00:00Z');
  const logs: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      logs.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
  const config = parseConfig({
    server: { host: '127.0.0.1', port: 0 },
    store: { url: `sqlite:${join(dir, 'bridge.db')}` },
    ...(options.adminToken ? { admin: { token: options.adminToken } } : {}),
    sources: [{ name: 'hr', type: 'standard-webhooks', secret }, ...(options.sources ?? [])],
    targets: options.targets.map((t) => ({
      name: t.name,
      baseUrl: t.baseUrl,
      auth: { type: 'bearer', token: t.token },
      mapping: resolve(t.mapping ?? 'mappings/generic.yaml'),
      mode: t.mode ?? 'live',
      requestsPerSecond: 1000,
      ...(t.policy ? { policy: t.policy } : {}),
      ...(t.timeoutMs ? { timeoutMs: t.timeoutMs } : {}),
    })),
    worker: { pollMs: 20, ...(options.worker ?? {}) },
    log: { level: 'info' },
  });
  const app = await createApp(config, { now: () => now, logDestination: destination, startWorker: false });
  const url = await app.server!.listen({ host: '127.0.0.1', port: 0 });

  const post: BridgeHarness['post'] = async (path, headers, body) => {
    const res = await fetch(`${url}${path}`, { method: 'POST', headers, body });
    const text = await res.text();
    let parsed: Record<string, unknown>;
    try {
      parsed = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    } catch {
      parsed = { text };
    }
    return { status: res.status, body: parsed, headers: res.headers };
  };

  return {
    app,
    url,
    secret,
    logs,
    clock: {
      now: () => now,
      set: (ms) => {
        now = ms;
      },
      advanceDays: (days) => {
        now += days * 86_400_000;
      },
    },
    async send(data, opts = {}) {
      deliveries += 1;
      const id = opts.id ?? `msg_test_${deliveries}_${Math.random().toString(36).slice(2)}`;
      const body = JSON.stringify({ type: opts.type ?? 'employee.upserted', timestamp: new Date(now).toISOString(), data });
      const res = await post('/webhooks/hr', standardWebhookHeaders(id, Math.floor(now / 1000), body, secret), body);
      return { status: res.status, body: res.body, id };
    },
    post,
    settle: () => app.worker.runUntilIdle(),
    close: async () => {
      try {
        await app.close();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
