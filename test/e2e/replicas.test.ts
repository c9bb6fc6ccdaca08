/**
 * Three bridge processes on one PostgreSQL database, one real SCIM server behind a recording proxy.
 * Deliveries go round-robin to the replicas; one replica is killed with SIGKILL while it has SCIM
 * requests in flight. Every account must converge, no employee may ever have SCIM requests in flight
 * from two replicas at once, and no employee may end up with two accounts.
 */
import { spawn, spawnSync, type ChildProcessByStdio } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { openStore } from '../../src/store/index.js';
import { createTestSchema, probePostgres, type TestSchema } from '../helpers/postgres.js';
import { startScimServer, type ScimServerHandle } from '../helpers/scim-servers/index.js';
import { newStandardWebhookSecret, standardWebhookHeaders } from '../helpers/signing.js';
import { tempDirs } from '../helpers/temp-dirs.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const cli = join(repoRoot, 'dist', 'cli.js');
const REPLICAS = 3;
const EMPLOYEES = 45;
const DEPARTMENTS = ['Engineering', 'Sales', 'Finance'];
/** Every SCIM request is held this long in the proxy, so two syncs of one pair at once would overlap there. */
const HOLD_MS = { min: 20, max: 70 };
const CONVERGE_TIMEOUT_MS = 45_000;

const postgres = await probePostgres();
const tempDir = tempDirs();

interface Replica {
  index: number;
  child: ChildProcessByStdio<null, Readable, Readable>;
  url: string;
  alive: boolean;
  output: string[];
}

/** One SCIM request as the proxy saw it; `key` is the employee it concerns, when it concerns one. */
interface Exchange {
  replica: number;
  method: string;
  path: string;
  start: number;
  end: number;
  status: number;
  key: string | null;
}

describe.skipIf(!postgres.ok)('three replicas on one PostgreSQL database', () => {
  let schema: TestSchema;
  let scim: ScimServerHandle;
  let proxy: RecordingProxy;
  const replicas: Replica[] = [];
  const secret = newStandardWebhookSecret();

  beforeAll(async () => {
    ensureBuilt();
    [schema, scim] = await Promise.all([createTestSchema('replicas_e2e'), startScimServer('scimmy')]);
    proxy = await RecordingProxy.start(scim.baseUrl);
    const configs = await tempDir('replicas-');
    // Staggered by a few milliseconds at most: the replicas race for the migrations as in a rollout.
    await Promise.all(
      Array.from({ length: REPLICAS }, (_, index) => {
        const file = join(configs, `replica-${index}.yaml`);
        writeFileSync(
          file,
          stringify({
            server: { host: '127.0.0.1', port: 0 },
            store: { url: schema.url },
            sources: [{ name: 'hr', type: 'standard-webhooks', secret }],
            targets: [
              {
                name: 'app1',
                // The path prefix tells the proxy which replica sent a request.
                baseUrl: `${proxy.url}/r${index}${new URL(scim.baseUrl).pathname}`,
                auth: { type: 'bearer', token: scim.token },
                mapping: resolve(repoRoot, 'mappings/generic.yaml'),
                mode: 'live',
              },
            ],
            worker: { leaseSeconds: 5, pollMs: 50, concurrency: 4 },
            log: { level: 'info' },
          }),
        );
        return startReplica(index, file).then((r) => {
          replicas[index] = r;
        });
      }),
    );
  }, 90_000);

  afterAll(async () => {
    await Promise.all(replicas.filter((r) => r?.alive).map((r) => stopReplica(r)));
    await proxy?.close();
    await scim?.stop();
    await schema?.drop();
  });

  it('converges every pair exactly once at a time, with one replica killed mid-run', async () => {
    const expected = new Map<string, { title: string; active: boolean; department: string }>();
    const employee = (i: number, version: number, status: 'active' | 'terminated', title: string) => {
      const id = `E-${1000 + i}`;
      const department = DEPARTMENTS[i % DEPARTMENTS.length]!;
      expected.set(id, { title, active: status === 'active', department });
      return { id, version, status, givenName: `Given${i}`, familyName: `Family${i}`, workEmail: `e${1000 + i}@example.com`, title, department, startDate: '2020-01-06' };
    };

    let next = 0;
    /** Round-robin over the live replicas; a delivery that got no answer goes to the next one, as an HRIS retries. */
    const deliver = async (data: Record<string, unknown>) => {
      const id = `msg_${randomUUID()}`;
      const body = JSON.stringify({ type: 'employee.upserted', timestamp: new Date().toISOString(), data });
      for (let attempt = 0; attempt < REPLICAS * 2; attempt += 1) {
        const live = replicas.filter((r) => r.alive);
        const replica = live[next++ % live.length]!;
        const headers = standardWebhookHeaders(id, Math.floor(Date.now() / 1000), body, secret);
        try {
          const res = await fetch(`${replica.url}/webhooks/hr`, { method: 'POST', headers, body });
          // 200 duplicate: the killed replica had committed it before its answer was lost.
          if (res.status === 202 || res.status === 200) return;
          throw new Error(`HTTP ${res.status}: ${await res.text()}`);
        } catch (error) {
          if (replica.alive) throw error;
        }
      }
      throw new Error(`delivery ${id} found no live replica`);
    };
    const inParallel = async <T>(items: T[], width: number, work: (item: T) => Promise<void>) => {
      const queue = [...items];
      await Promise.all(Array.from({ length: width }, async () => {
        for (let item = queue.shift(); item !== undefined; item = queue.shift()) await work(item);
      }));
    };
    const indexes = Array.from({ length: EMPLOYEES }, (_, i) => i);

    // Joiners, then movers and leavers while the joiners are still being provisioned.
    await inParallel(indexes, 6, (i) => deliver(employee(i, 1, 'active', 'Engineer')));
    const second = inParallel(indexes, 3, (i) => deliver(employee(i, 2, i % 5 === 0 ? 'terminated' : 'active', i % 2 ? 'Senior Engineer' : 'Engineer')));

    // SIGKILL a replica while it is inside a sync: it has a SCIM request in flight.
    const victim = replicas[1]!;
    const caught = await waitFor(() => proxy.inFlight(victim.index) > 0 && proxy.exchanges().filter((x) => x.replica === victim.index).length >= 20, 20_000);
    expect(caught, 'the replica to kill never had a SCIM request in flight').toBe(true);
    const killedAt = Date.now();
    const interrupted = proxy.inFlightKeys(victim.index);
    victim.alive = false;
    victim.child.kill('SIGKILL');
    await second;

    // Converged: every account and every department group as the HR records say, nothing left to do.
    const problems = async () => [...matches(await scim.listUsers(), expected), ...groupProblems(await scim.listUsers(), await scim.listGroups(), expected), ...(await pendingWork(schema.url))];
    await waitFor(async () => (await problems()).length === 0, CONVERGE_TIMEOUT_MS, 500);
    const convergedAt = Date.now();
    expect(await problems(), `not converged within ${CONVERGE_TIMEOUT_MS / 1000} s`).toEqual([]);
    const users = await scim.listUsers();

    // The proof that no pair was worked on twice at once.
    const exchanges = proxy.exchanges();
    const overlaps = findOverlaps(exchanges);
    expect(overlaps, JSON.stringify(overlaps.slice(0, 5), null, 1)).toEqual([]);

    // One account per employee, by externalId and by userName.
    const byExternalId = countBy(users, (u) => String(u.externalId));
    expect([...byExternalId.entries()].filter(([, n]) => n > 1)).toEqual([]);
    expect(byExternalId.size).toBeGreaterThanOrEqual([...expected.values()].filter((e) => e.active).length);
    expect(new Set(users.map((u) => String(u.userName).toLowerCase())).size).toBe(users.length);

    const store = await openStore(schema.url);
    try {
      expect(await store.verifyAudit()).toMatchObject({ ok: true });
    } finally {
      await store.close();
    }
    console.log(
      `replicas: ${exchanges.length} SCIM requests (${replicas.map((r) => `r${r.index}=${exchanges.filter((x) => x.replica === r.index).length}`).join(' ')}), ` +
        `${interrupted.length} pair(s) interrupted by SIGKILL, converged ${((convergedAt - killedAt) / 1000).toFixed(1)} s after the kill`,
    );
  }, 90_000);
});

function matches(users: Array<Record<string, unknown>>, expected: ReadonlyMap<string, { title: string; active: boolean }>): string[] {
  const problems: string[] = [];
  for (const [id, want] of expected) {
    const found = users.filter((u) => u.externalId === id);
    // A leaver whose account was never created before the termination arrived needs none.
    if (found.length === 0 && !want.active) continue;
    if (found.length !== 1) problems.push(`${id}: ${found.length} accounts`);
    else if (found[0]!.title !== want.title || found[0]!.active !== want.active) problems.push(`${id}: title ${String(found[0]!.title)} active ${String(found[0]!.active)}`);
  }
  return problems;
}

/** Department groups: one per department, holding exactly its active employees. */
function groupProblems(users: Array<Record<string, unknown>>, groups: Array<Record<string, unknown>>, expected: ReadonlyMap<string, { active: boolean; department: string }>): string[] {
  const problems: string[] = [];
  const idToExternal = new Map(users.map((u) => [String(u.id), String(u.externalId)]));
  for (const department of DEPARTMENTS) {
    const name = `dept-${department.toLowerCase()}`;
    const found = groups.filter((g) => g.displayName === name);
    if (found.length !== 1) {
      problems.push(`${name}: ${found.length} groups`);
      continue;
    }
    const members = ((found[0]!.members as Array<{ value: string }> | undefined) ?? []).map((m) => idToExternal.get(m.value) ?? m.value).sort();
    const wanted = [...expected.entries()].filter(([, e]) => e.department === department && e.active).map(([id]) => id).sort();
    if (JSON.stringify(members) !== JSON.stringify(wanted)) problems.push(`${name}: members ${members.join(',')} want ${wanted.join(',')}`);
  }
  if (groups.length !== DEPARTMENTS.length) problems.push(`${groups.length} groups`);
  return problems;
}

/** Dirty or failed pairs left in the store. */
async function pendingWork(url: string): Promise<string[]> {
  const store = await openStore(url);
  try {
    const stats = await store.stats();
    return [...Object.entries(stats.dirtyByTarget).map(([t, n]) => `${t}: ${n} dirty`), ...Object.entries(stats.failedByTarget).map(([t, n]) => `${t}: ${n} failed`)];
  } finally {
    await store.close();
  }
}

function countBy<T>(items: readonly T[], key: (item: T) => string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1);
  return counts;
}

/** Requests about the same employee from two different replicas whose in-flight intervals intersect. */
function findOverlaps(exchanges: readonly Exchange[]): Array<[Exchange, Exchange]> {
  const byKey = new Map<string, Exchange[]>();
  for (const x of exchanges) if (x.key) byKey.set(x.key, [...(byKey.get(x.key) ?? []), x]);
  const overlaps: Array<[Exchange, Exchange]> = [];
  for (const list of byKey.values()) {
    list.sort((a, b) => a.start - b.start);
    for (let i = 0; i < list.length; i += 1) {
      for (let j = i + 1; j < list.length && list[j]!.start < list[i]!.end; j += 1) {
        if (list[j]!.replica !== list[i]!.replica) overlaps.push([list[i]!, list[j]!]);
      }
    }
  }
  return overlaps;
}

async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs: number, everyMs = 5): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  return check();
}

/** The replicas run the built CLI; rebuild only when a source file is newer than it. */
function ensureBuilt(): void {
  const newest = (dir: string): number =>
    Math.max(0, ...readdirSync(dir, { withFileTypes: true }).map((e) => (e.isDirectory() ? newest(join(dir, e.name)) : statSync(join(dir, e.name)).mtimeMs)));
  if (existsSync(cli) && statSync(cli).mtimeMs >= newest(join(repoRoot, 'src'))) return;
  const build = spawnSync(process.execPath, [join(repoRoot, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: repoRoot, encoding: 'utf8' });
  if (!existsSync(cli)) throw new Error(`build failed:\n${build.stdout}${build.stderr}`);
}

function startReplica(index: number, configFile: string): Promise<Replica> {
  const child = spawn(process.execPath, [cli, 'serve', '--config', configFile], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  const keep = (chunk: Buffer) => {
    output.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    if (output.length > 400) output.splice(0, output.length - 400);
  };
  child.stderr.on('data', keep);
  return new Promise((resolveStart, reject) => {
    const timer = setTimeout(() => reject(new Error(`replica ${index} did not start:\n${output.slice(-20).join('\n')}`)), 30_000);
    const early = (code: number | null, signal: NodeJS.Signals | null) => {
      clearTimeout(timer);
      reject(new Error(`replica ${index} exited (${code ?? signal}) before listening:\n${output.slice(-20).join('\n')}`));
    };
    child.once('exit', early);
    const onData = (chunk: Buffer) => {
      keep(chunk);
      const line = output.find((l) => l.includes('"service.started"'));
      const url = line ? (JSON.parse(line) as { url?: { full?: string } }).url?.full : undefined;
      if (!url) return;
      clearTimeout(timer);
      child.off('exit', early);
      child.stdout.off('data', onData);
      // Keep draining: a replica blocked on a full stdout pipe would stall its worker.
      child.stdout.on('data', keep);
      resolveStart({ index, child, url, alive: true, output });
    };
    child.stdout.on('data', onData);
  });
}

async function stopReplica(replica: Replica): Promise<void> {
  replica.alive = false;
  if (replica.child.exitCode !== null || replica.child.signalCode !== null) return;
  const exited = new Promise((r) => replica.child.once('exit', r));
  replica.child.kill('SIGTERM');
  const timer = setTimeout(() => replica.child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

/**
 * Forwards /r<n>/... to the SCIM server and records each request's interval, its replica and the
 * employee it concerns (by externalId: from filters, bodies, and the ids the server answered with).
 */
class RecordingProxy {
  private readonly log: Exchange[] = [];
  private readonly open = new Map<number, Set<{ key: string | null }>>();
  private readonly externalIdOf = new Map<string, string>();

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(upstreamBase: string): Promise<RecordingProxy> {
    const upstream = new URL(upstreamBase);
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const proxy = new RecordingProxy(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    server.on('request', (req: IncomingMessage, res: ServerResponse) => void proxy.handle(req, res, upstream));
    return proxy;
  }

  exchanges(): Exchange[] {
    return [...this.log];
  }

  inFlight(replica: number): number {
    return this.open.get(replica)?.size ?? 0;
  }

  inFlightKeys(replica: number): Array<string | null> {
    return [...(this.open.get(replica) ?? [])].map((x) => x.key);
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((r) => this.server.close(() => r()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse, upstream: URL): Promise<void> {
    const start = Date.now();
    const match = /^\/r(\d+)(\/.*)$/.exec(req.url ?? '');
    if (!match) {
      res.writeHead(404).end();
      return;
    }
    const replica = Number(match[1]);
    const path = match[2]!;
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const entry = { key: this.keyOf(req.method ?? 'GET', path, body) };
    const open = this.open.get(replica) ?? new Set();
    this.open.set(replica, open);
    open.add(entry);
    await new Promise((r) => setTimeout(r, HOLD_MS.min + Math.random() * (HOLD_MS.max - HOLD_MS.min)));
    const answer = await new Promise<{ status: number; headers: IncomingMessage['headers']; body: Buffer }>((resolveAnswer, reject) => {
      const out = httpRequest(
        { host: upstream.hostname, port: upstream.port, method: req.method, path, headers: { ...req.headers, host: upstream.host } },
        (up) => {
          const parts: Buffer[] = [];
          up.on('data', (c: Buffer) => parts.push(c));
          up.on('end', () => resolveAnswer({ status: up.statusCode ?? 502, headers: up.headers, body: Buffer.concat(parts) }));
          up.on('error', reject);
        },
      );
      out.on('error', reject);
      out.end(body);
    }).catch(() => ({ status: 502, headers: {} as IncomingMessage['headers'], body: Buffer.alloc(0) }));
    this.learn(answer.body);
    // The key may only be known from the answer (a search by userName, a create).
    entry.key ??= this.keyOf(req.method ?? 'GET', path, body);
    const { 'transfer-encoding': _te, connection: _c, ...headers } = answer.headers;
    res.writeHead(answer.status, headers);
    res.end(answer.body);
    open.delete(entry);
    this.log.push({ replica, method: req.method ?? 'GET', path, start, end: Date.now(), status: answer.status, key: entry.key });
  }

  private keyOf(method: string, path: string, body: Buffer): string | null {
    const json = parseJson(body);
    const [resourcePath, query = ''] = path.split('?');
    const filter = new URLSearchParams(query).get('filter') ?? '';
    const segments = resourcePath!.split('/').filter(Boolean);
    const resource = segments[segments.length - 2] === 'Users' || segments[segments.length - 2] === 'Groups' ? segments[segments.length - 2] : segments[segments.length - 1];
    const id = segments[segments.length - 2] === resource ? segments[segments.length - 1] : undefined;
    if (resource === 'Users') {
      const byExternal = /externalId eq "([^"]+)"/.exec(filter)?.[1];
      if (byExternal) return byExternal;
      const byUserName = /userName eq "([^"]+)"/i.exec(filter)?.[1];
      if (byUserName) return externalIdFromEmail(byUserName);
      if (id) return this.externalIdOf.get(id) ?? null;
      if (method === 'POST' && typeof json?.externalId === 'string') return json.externalId;
      return null;
    }
    if (resource === 'Groups' && method === 'PATCH') {
      // A sync adds or removes its own account only: the member value names the employee.
      const values = JSON.stringify(json ?? {}).match(/"value":"([^"]+)"/g) ?? [];
      for (const v of values) {
        const known = this.externalIdOf.get(v.slice('"value":"'.length, -1));
        if (known) return known;
      }
      const memberFilter = /members\[value eq "([^"]+)"\]/.exec(JSON.stringify(json ?? {}).replace(/\\"/g, '"'))?.[1];
      if (memberFilter) return this.externalIdOf.get(memberFilter) ?? null;
    }
    return null;
  }

  private learn(body: Buffer): void {
    const json = parseJson(body);
    const resources = Array.isArray(json?.Resources) ? (json.Resources as Array<Record<string, unknown>>) : json ? [json] : [];
    for (const r of resources) {
      if (typeof r.id === 'string' && typeof r.externalId === 'string') this.externalIdOf.set(r.id, r.externalId);
    }
  }
}

function externalIdFromEmail(userName: string): string | null {
  const n = /^e(\d+)@example\.com$/i.exec(userName)?.[1];
  return n ? `E-${n}` : null;
}

function parseJson(body: Buffer): Record<string, unknown> | null {
  if (body.length === 0) return null;
  try {
    const value = JSON.parse(body.toString('utf8')) as unknown;
    return value && typeof value === 'object' ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}
