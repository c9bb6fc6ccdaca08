import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { newStandardWebhookSecret } from '../../test/helpers/signing.js';

export async function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.once('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      srv.close(() => (typeof address === 'object' && address ? ok(address.port) : fail(new Error('no port'))));
    });
  });
}

/** Peak resident set of a process, from the kernel's high-water mark. */
export function peakRssMb(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = /VmHWM:\s+(\d+) kB/.exec(status);
    return match ? Number(match[1]) / 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/** CPU time a process has used so far (user + system), in ms, from /proc. */
export function cpuMs(pid: number): number {
  try {
    // Fields after the command name; utime and stime are the 12th and 13th of them, in clock ticks.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return Number.NaN;
  }
}

/** CPU time used so far by every process of one program name on this machine (e.g. `postgres`), in ms. */
export function cpuMsOfProgram(name: string): number {
  let total = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === name) total += cpuMs(Number(entry));
    } catch {
      // gone between the listing and the read
    }
  }
  return total;
}

export interface BridgeProcess {
  url: string;
  secret: string;
  dbFile: string | null;
  child: ChildProcess;
  peakRssMb(): number;
  stop(): Promise<void>;
}

export interface BridgeProcessOptions {
  storeUrl?: string;
  worker: boolean;
  targets: Array<{ name: string; baseUrl: string; token: string; mode?: 'live' | 'dry-run' }>;
  concurrency?: number;
  secret?: string;
}

/** The built service (`dist/cli.js`) as its own process, the way it runs in production. */
export async function startBridgeProcess(options: BridgeProcessOptions): Promise<BridgeProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-bridge-'));
  const port = await freePort();
  const secret = options.secret ?? newStandardWebhookSecret();
  const dbFile = options.storeUrl ? null : join(dir, 'bridge.db');
  const config = {
    server: { host: '127.0.0.1', port },
    store: { url: options.storeUrl ?? `sqlite:${dbFile}` },
    sources: [{ name: 'hr', type: 'standard-webhooks', secret }],
    targets: options.targets.map((t) => ({
      name: t.name,
      baseUrl: t.baseUrl,
      auth: { type: 'bearer', token: t.token },
      mapping: resolve('mappings/generic.yaml'),
      mode: t.mode ?? 'live',
      requestsPerSecond: 10_000,
      timeoutMs: 30_000,
    })),
    worker: { concurrency: options.concurrency ?? 64, pollMs: 50, leaseSeconds: 120 },
    log: { level: 'info' },
  };
  const file = join(dir, 'config.yaml');
  writeFileSync(file, stringify(config));
  const args = ['dist/cli.js', 'serve', '--config', file, ...(options.worker ? [] : ['--no-worker'])];
  const nodeArgs = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
  // The container's Node options and malloc setting (Dockerfile), so the memory figures are the ones production sees.
  const env = { ...process.env, NODE_OPTIONS: '--max-old-space-size=128 --max-semi-space-size=8', MALLOC_ARENA_MAX: '2' };
  // BENCH_LOG_DIR keeps each service's log (ECS lines on stdout) for a look at a slow run.
  const logDir = process.env.BENCH_LOG_DIR;
  const stdout = logDir ? openSync(join(logDir, `bridge-${port}.log`), 'w') : 'ignore';
  const child = spawn(process.execPath, [...nodeArgs, ...args], { stdio: ['ignore', stdout, 'pipe'], env });
  if (typeof stdout === 'number') closeSync(stdout);
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => { stderr += d.toString(); if (process.env.BENCH_STDERR) process.stderr.write(d); });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`bridge exited: ${stderr}`);
    try {
      const res = await fetch(`${url}/readyz`);
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`bridge not ready: ${stderr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    secret,
    dbFile,
    child,
    peakRssMb: () => peakRssMb(child.pid!),
    stop: async () => {
      await new Promise<void>((ok) => {
        if (child.exitCode !== null) return ok();
        child.once('exit', () => ok());
        child.kill('SIGTERM');
      });
      settleDisk(dir);
    },
  };
}

/**
 * Removes a run's files and flushes what the machine still has to write. An intake run leaves a
 * database of about 200 MB; the kernel would otherwise write it back during the next run, whose
 * fsyncs (and the SCIM server's CPU) would then pay for this one: the end-to-end p99 after an intake
 * run was 111 ms against 61–75 ms after none.
 */
export function settleDisk(dir?: string): void {
  if (dir) rmSync(dir, { recursive: true, force: true });
  try {
    execFileSync('sync');
  } catch {
    // No sync(1) on this machine: the next run may share the disk with this one's writeback.
  }
}

/** A plain Fastify server answering the same route unsigned, unvalidated and unstored: the intake baseline. */
export async function startBaselineServer(): Promise<{ url: string; child: ChildProcess; stop(): Promise<void> }> {
  const port = await freePort();
  const child = spawn(process.execPath, ['bench/support/baseline-server.mjs', String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((ok) => child.stdout?.once('data', () => ok()));
  return {
    url: `http://127.0.0.1:${port}`,
    child,
    stop: () =>
      new Promise<void>((ok) => {
        child.once('exit', () => ok());
        child.kill('SIGTERM');
      }),
  };
}
