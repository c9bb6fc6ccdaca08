import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createApp, type App } from '../../../src/app.js';
import { parseConfig } from '../../../src/config.js';
import { newStandardWebhookSecret } from '../../helpers/signing.js';

export interface InProcessBridge {
  app: App;
  url: string;
  secret: string;
  clock: { now(): number; advance(ms: number): void };
  /** Runs the worker until nothing is due at the current (fake) time. */
  settle(): Promise<number>;
  close(): Promise<void>;
}

/**
 * The bridge in this process with every config key in reach (timeouts, `file:` secrets, worker
 * limits), its clock under the test's control, and each log line handed to `onLog` rather than kept,
 * so a run of thousands of requests does not grow the heap it is measuring.
 */
export async function startInProcess(options: {
  targets: Array<Record<string, unknown>>;
  adminToken?: string;
  worker?: Record<string, unknown>;
  server?: Record<string, unknown>;
  logLevel?: 'info' | 'debug' | 'warn';
  onLog: (line: string) => void;
  start?: string;
}): Promise<InProcessBridge> {
  const secret = newStandardWebhookSecret();
  const dir = mkdtempSync(join(tmpdir(), 'reliability-'));
  let now = Date.parse(options.start ?? '2026-12-04T10:00:00Z');
  let partial = '';
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      const text = partial + chunk.toString('utf8');
      const lines = text.split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) if (line) options.onLog(line);
      done();
    },
  });
  const config = parseConfig({
    server: { host: '127.0.0.1', port: 0, ...(options.server ?? {}) },
    store: { url: `sqlite:${join(dir, 'bridge.db')}` },
    ...(options.adminToken ? { admin: { token: options.adminToken } } : {}),
    sources: [{ name: 'hr', type: 'standard-webhooks', secret }],
    targets: options.targets,
    worker: { pollMs: 20, ...(options.worker ?? {}) },
    log: { level: options.logLevel ?? 'info' },
  });
  const app = await createApp(config, { now: () => now, logDestination: destination, startWorker: false });
  const url = await app.server!.listen({ host: '127.0.0.1', port: 0 });
  return {
    app,
    url,
    secret,
    clock: { now: () => now, advance: (ms) => void (now += ms) },
    settle: () => app.worker.runUntilIdle(),
    async close() {
      await app.close();
      if (partial) options.onLog(partial);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
