import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { createTestSchema, postgresUrl, probePostgres } from '../test/helpers/postgres.js';
import { benchLatency } from './e2e-latency.js';
import { benchInitialLoad, measureBaselines } from './initial-load.js';
import { benchIntake, type IntakeResult } from './intake.js';
import { settleDisk } from './support/processes.js';

/**
 * npm run bench: every figure beside its baseline measured in the same run, as a table and as JSON.
 * BENCH_SECONDS, BENCH_HIRES, BENCH_USERS and BENCH_SAMPLE shrink a run; the defaults are the published
 * ones. BENCH_WARMUP is the number of unmeasured hires before the latency run (200). BENCH_ONLY picks
 * rows (intake, latency, load); BENCH_POSTGRES=0 leaves out the PostgreSQL rows, BENCH_STORES picks
 * stores (sqlite, pg1, pg2), BENCH_PG_SETTINGS sets PostgreSQL settings for the services' sessions.
 * BENCH_LOG_DIR keeps the services' logs.
 *
 * Each phase (latency, intake, load) runs in a process of its own. A phase's load generator, proxy and
 * clocks live in the bench process, and one run after another carried that one's heap, connections
 * and pauses into its timings: the latency p99 was 111–117 ms after the intake on SQLite in the same
 * process, 61–91 ms without it.
 */
const seconds = Number(process.env.BENCH_SECONDS ?? 20);
const hires = Number(process.env.BENCH_HIRES ?? 2000);
const users = Number(process.env.BENCH_USERS ?? 10_000);
const sample = Number(process.env.BENCH_SAMPLE ?? 500);
const warmup = Number(process.env.BENCH_WARMUP ?? 200);
const delayMs = Number(process.env.BENCH_DELAY_MS ?? 50);
const server = (process.env.BENCH_SERVER ?? 'scimmy') as 'scimmy' | 'better-auth';
const only = (process.env.BENCH_ONLY ?? 'intake,latency,load').split(',');
const phases = ['latency', 'intake', 'load'].filter((p) => only.includes(p));
/** Set in a phase's own process: where it leaves its rows and results for the parent. */
const phaseOutput = process.env.BENCH_PHASE_OUTPUT;
const inPhases = phases.length > 1 && !phaseOutput;
const runs = (phase: string) => !inPhases && only.includes(phase);
// Probed where the phases run, not in a parent that only gathers their rows.
const withPostgres = !inPhases && process.env.BENCH_POSTGRES !== '0' && (await probePostgres()).ok;

interface Row {
  what: string;
  measured: string;
  baseline: string;
  ratio: string;
  goal: string;
  met: boolean | null;
}

const rows: Row[] = [];
const progress = (r: Row) => console.error(`  ${r.what}: ${r.measured} | baseline ${r.baseline} | ${r.met === null ? '' : r.met ? 'met' : 'NOT met'}`);
const push = (...added: Row[]) => {
  rows.push(...added);
  added.forEach(progress);
};
const results: Record<string, unknown> = {};
const f = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a');
const pickedStores = process.env.BENCH_STORES?.split(',');
const stores: Array<{ key: string; label: string; replicas: number; postgres: boolean }> = [
  { key: 'sqlite', label: 'SQLite', replicas: 1, postgres: false },
  ...(withPostgres
    ? [
        { key: 'pg1', label: 'PostgreSQL, 1 replica', replicas: 1, postgres: true },
        { key: 'pg2', label: 'PostgreSQL, 2 replicas', replicas: 2, postgres: true },
      ]
    : []),
].filter((s) => !pickedStores || pickedStores.includes(s.key));

async function onStore<T>(store: (typeof stores)[number], run: (url: string | undefined) => Promise<T>): Promise<T> {
  if (!store.postgres) return run(undefined);
  const schema = await createTestSchema('bench');
  try {
    return await run(withSessionSettings(schema.url));
  } finally {
    await schema.drop().finally(checkpoint);
  }
}

/**
 * BENCH_PG_SETTINGS: settings for the services' PostgreSQL sessions, such as `wal_compression=lz4`
 * (comma-separated; the bench's user must be allowed to set them).
 */
function withSessionSettings(url: string): string {
  const settings = (process.env.BENCH_PG_SETTINGS ?? '').split(',').filter(Boolean);
  if (settings.length === 0) return url;
  const parsed = new URL(url);
  parsed.searchParams.set('options', [parsed.searchParams.get('options') ?? '', ...settings.map((s) => `-c ${s}`)].join(' ').trim());
  return parsed.toString();
}

/** PostgreSQL writes a run's buffers now rather than during the next run (see settleDisk). */
async function checkpoint(): Promise<void> {
  const client = new pg.Client({ connectionString: postgresUrl });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('checkpoint');
  } catch (error) {
    // CHECKPOINT needs a superuser or pg_checkpoint; without it the next run may share the disk.
    console.error(`  (no checkpoint between runs: ${error instanceof Error ? error.message : String(error)})`);
  } finally {
    await client.end().catch(() => undefined);
    settleDisk();
  }
}

if (runs('latency')) {
  const r = await benchLatency(hires, 100, server, warmup);
  results.latency = r;
  const p50Goal = 2 * r.baselineP50 + 10;
  push({ what: `end-to-end latency (${hires} hires at 100/s, after ${warmup} unmeasured)`, measured: `p50 ${f(r.p50)} ms, p99 ${f(r.p99)} ms (pick-up p50 ${f(r.pickupP50)} ms, p99 ${f(r.pickupP99)} ms)`, baseline: `SCIM POST p50 ${f(r.baselineP50)} ms, p99 ${f(r.baselineP99)} ms`, ratio: `p50 ${f(r.p50 / r.baselineP50)}x`, goal: `p50 <= ${f(p50Goal)} ms, p99 <= 100 ms`, met: r.missing === 0 && r.p50 <= p50Goal && r.p99 <= 100 });
  push({ what: 'latency run peak RSS', measured: `${f(r.peakRssMb)} MB`, baseline: '-', ratio: '-', goal: '<= 200 MB', met: r.peakRssMb <= 200 });
}

if (runs('intake')) {
  let baseline: IntakeResult['baseline'] | undefined;
  for (const store of stores) {
    const r = await onStore(store, (url) => benchIntake(seconds, { replicas: store.replicas, ...(url ? { postgresUrl: url } : {}), baseline: baseline === undefined }));
    baseline ??= r.baseline;
    results[`intake ${store.label}`] = { ...r, baseline };
    const ratio = r.bridge.rps / baseline.rps;
    push({ what: `intake, ${store.label} (50 conn)`, measured: `${f(r.bridge.rps, 0)} req/s, p50 ${r.bridge.p50} ms, p99 ${r.bridge.p99} ms; CPU ${f(r.bridge.cpu.serverUs, 0)} µs/delivery (load generator ${f(r.bridge.cpu.generatorUs, 0)})`, baseline: `${f(baseline.rps, 0)} req/s (bare route); CPU ${f(baseline.cpu.serverUs, 0)} µs/request (load generator ${f(baseline.cpu.generatorUs, 0)})`, ratio: `${f(ratio * 100, 0)}%`, goal: '>= 40% of baseline', met: ratio >= 0.4 && r.bridge.non2xx === 0 });
    push({ what: `intake at 1,000/s, ${store.label}`, measured: `${f(r.fixedRate.rps, 0)} req/s, p50 ${f(r.fixedRate.p50)} ms, p99 ${f(r.fixedRate.p99)} ms (sender behind schedule: p99 ${f(r.fixedRate.lateP99)} ms)${r.fixedRate.non2xx ? `, ${r.fixedRate.non2xx} not 2xx` : ''}`, baseline: '-', ratio: '-', goal: 'p99 <= 25 ms', met: r.fixedRate.p99 <= 25 && r.fixedRate.non2xx === 0 });
    push({ what: `intake peak RSS, ${store.label}`, measured: `${f(r.peakRssMb)} MB`, baseline: '-', ratio: '-', goal: '<= 200 MB', met: r.peakRssMb <= 200 });
  }
}

if (runs('load')) {
  const baselines = await measureBaselines(server, delayMs, sample);
  for (const store of stores) {
    const r = await onStore(store, (url) => benchInitialLoad({ users, delayMs, sample, kind: server, baselines, replicas: store.replicas, ...(url ? { postgresUrl: url } : {}) }));
    results[`initial load ${store.label}`] = r;
    const vsSequential = r.usersPerSecond / r.sequentialUsersPerSecond;
    const vsCapacity = r.usersPerSecond / r.concurrentUsersPerSecond;
    push({ what: `initial load, ${store.label} (${users} users, +${delayMs} ms/round trip)`, measured: `${f(r.usersPerSecond)} users/s (${f(r.seconds)} s, ${r.scimRequests} SCIM requests; ${r.verified.groupMembers} group members); CPU per user: service ${f(r.cpuPerUser.serviceMs, 2)} ms, SCIM server ${f(r.cpuPerUser.scimServerMs, 2)} ms${Number.isFinite(r.cpuPerUser.postgresMs) ? `, PostgreSQL ${f(r.cpuPerUser.postgresMs, 2)} ms` : ''}`, baseline: `(a) ${f(r.sequentialUsersPerSecond)} users/s sequential; (b) ${f(r.concurrentUsersPerSecond)} users/s server capacity (sample ${r.baselineSample})`, ratio: `${f(vsSequential)}x (a), ${f(vsCapacity * 100, 0)}% (b)`, goal: '>= 5x (a), >= 50% (b)', met: vsSequential >= 5 && vsCapacity >= 0.5 && r.verified.accounts === users && r.verified.groupMembers === users });
    push({ what: `no-op resync, ${store.label} (${users} unchanged)`, measured: `${r.resync.scimWrites} SCIM writes, ${f(r.resync.seconds)} s`, baseline: '-', ratio: '-', goal: '0 writes, <= 5 s', met: r.resync.scimWrites === 0 && r.resync.seconds <= 5 });
    push({ what: `initial load peak RSS, ${store.label}`, measured: `${f(r.peakRssMb)} MB`, baseline: '-', ratio: '-', goal: '<= 200 MB', met: r.peakRssMb <= 200 });
  }
}

if (inPhases) {
  const dir = mkdtempSync(join(tmpdir(), 'bench-phase-'));
  try {
    for (const phase of phases) {
      const output = join(dir, `${phase}.json`);
      const child = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url)], { stdio: 'inherit', env: { ...process.env, BENCH_ONLY: phase, BENCH_PHASE_OUTPUT: output } });
      if (child.status !== 0) throw new Error(`bench phase ${phase} failed (exit ${child.status ?? child.signal})`);
      const part = JSON.parse(readFileSync(output, 'utf8')) as { rows: Row[]; results: Record<string, unknown> };
      rows.push(...part.rows);
      Object.assign(results, part.results);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (phaseOutput) {
  writeFileSync(phaseOutput, JSON.stringify({ rows, results }));
  process.exit(0);
}

const machine = `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, ${f(totalmem() / 2 ** 30, 0)} GiB, Node ${process.version}`;
const header: Array<keyof Row> = ['what', 'measured', 'baseline', 'ratio', 'goal', 'met'];
const cell = (r: Row, k: keyof Row) => (k === 'met' ? (r.met === null ? '-' : r.met ? 'yes' : 'NO') : String(r[k]));
console.log(`\nhr-scim-bridge benchmarks — ${machine}\n`);
console.log(`| ${header.join(' | ')} |`);
console.log(`|${header.map(() => '---').join('|')}|`);
for (const r of rows) console.log(`| ${header.map((k) => cell(r, k)).join(' | ')} |`);
mkdirSync('bench/results', { recursive: true });
const out = { at: new Date().toISOString(), machine, settings: { seconds, hires, users, sample, delayMs, server }, rows, results };
writeFileSync('bench/results/latest.json', `${JSON.stringify(out, null, 2)}\n`);
console.log('\nwritten to bench/results/latest.json');
