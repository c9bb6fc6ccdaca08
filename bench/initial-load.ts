import { Agent, request } from 'undici';
import { startScimServer, type ScimServerHandle } from '../test/helpers/scim-servers/index.js';
import { cpuMs, cpuMsOfProgram, startBridgeProcess, type BridgeProcess } from './support/processes.js';
import { pairCounter, untilSettled } from './support/settled.js';
import { startScimProxy } from './support/scim-proxy.js';
import { employee, sendAll, signedDelivery } from './support/webhooks.js';

export interface InitialLoadResult {
  users: number;
  seconds: number;
  usersPerSecond: number;
  scimRequests: number;
  sequentialUsersPerSecond: number;
  concurrentUsersPerSecond: number;
  baselineSample: number;
  resync: { seconds: number; scimWrites: number; scimRequests: number };
  verified: { accounts: number; groupMembers: number };
  peakRssMb: number;
  /** CPU per user during the load (ms): the service's processes, the SCIM server's, PostgreSQL's. */
  cpuPerUser: { serviceMs: number; scimServerMs: number; postgresMs: number };
}

function userBody(i: number): Record<string, unknown> {
  const e = employee(i);
  return {
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
    externalId: e.id,
    userName: e.workEmail,
    name: { givenName: e.givenName, familyName: e.familyName },
    emails: [{ value: e.workEmail, type: 'work', primary: true }],
    active: true,
  };
}

/** The common provisioning script: GET by externalId filter, then POST or PUT, for one user. */
async function upsert(base: string, token: string, agent: Agent, i: number): Promise<void> {
  const body = userBody(i);
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/scim+json', accept: 'application/scim+json' };
  const filter = encodeURIComponent(`externalId eq ${JSON.stringify(body.externalId)}`);
  const found = await request(`${base}/Users?filter=${filter}`, { headers, dispatcher: agent });
  const list = (await found.body.json()) as { Resources?: Array<{ id: string }> };
  const existing = list.Resources?.[0];
  const res = existing
    ? await request(`${base}/Users/${existing.id}`, { method: 'PUT', headers, body: JSON.stringify(body), dispatcher: agent })
    : await request(`${base}/Users`, { method: 'POST', headers, body: JSON.stringify(body), dispatcher: agent });
  await res.body.dump();
  if (res.statusCode >= 300) throw new Error(`baseline upsert answered ${res.statusCode}`);
}

async function baseline(kind: 'scimmy' | 'better-auth', delayMs: number, sample: number, concurrency: number): Promise<number> {
  const scim = await startScimServer(kind);
  const proxy = await startScimProxy(scim.baseUrl, delayMs);
  const agent = new Agent({ connections: Math.max(1, concurrency) });
  try {
    let next = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < sample) await upsert(proxy.url, scim.token, agent, next++);
      }),
    );
    return sample / ((performance.now() - started) / 1000);
  } finally {
    await agent.close();
    await proxy.close();
    await scim.stop();
  }
}

/**
 * Reads back a sample of the accounts and every department group through the server's own API. Listing
 * all users is avoided on purpose: the test servers build every page from the whole tenant.
 */
async function verify(scim: ScimServerHandle, users: number): Promise<{ accounts: number; groupMembers: number }> {
  const headers = { authorization: `Bearer ${scim.token}`, accept: 'application/scim+json' };
  const step = Math.max(1, Math.floor(users / 200));
  let accounts = 0;
  for (let i = 0; i < users; i += step) {
    const filter = encodeURIComponent(`externalId eq ${JSON.stringify(employee(i).id)}`);
    const res = await request(`${scim.baseUrl}/Users?filter=${filter}`, { headers });
    const list = (await res.body.json()) as { totalResults?: number };
    if (list.totalResults === 1) accounts += step;
  }
  let groupMembers = 0;
  for (const name of new Set(Array.from({ length: 10 }, (_, i) => `dept-${String(employee(i).department).toLowerCase().replace(/\s+/g, '-')}`))) {
    const res = await request(`${scim.baseUrl}/Groups?filter=${encodeURIComponent(`displayName eq ${JSON.stringify(name)}`)}`, { headers });
    const list = (await res.body.json()) as { Resources?: Array<{ members?: unknown[] }> };
    groupMembers += list.Resources?.[0]?.members?.length ?? 0;
  }
  return { accounts: Math.min(accounts, users), groupMembers };
}

export interface LoadOptions {
  users: number;
  delayMs: number;
  sample: number;
  kind?: 'scimmy' | 'better-auth';
  /** PostgreSQL schema URL shared by the replicas; SQLite (one replica) when absent. */
  postgresUrl?: string;
  replicas?: number;
  /** Baselines measured once and reused across the store variants of one run. */
  baselines?: { sequential: number; concurrent: number };
}

export async function measureBaselines(kind: 'scimmy' | 'better-auth', delayMs: number, sample: number): Promise<{ sequential: number; concurrent: number }> {
  return { sequential: await baseline(kind, delayMs, sample, 1), concurrent: await baseline(kind, delayMs, sample, 64) };
}

/** N new employees through a proxy that adds a SaaS-like round trip, then the same N again unchanged. */
export async function benchInitialLoad(o: LoadOptions): Promise<InitialLoadResult> {
  const kind = o.kind ?? 'scimmy';
  const { users, delayMs, sample } = o;
  const baselines = o.baselines ?? (await measureBaselines(kind, delayMs, sample));
  const scim = await startScimServer(kind);
  const proxy = await startScimProxy(scim.baseUrl, delayMs);
  const replicas: BridgeProcess[] = [];
  const replicaCount = o.replicas ?? 1;
  for (let i = 0; i < replicaCount; i += 1) {
    replicas.push(
      await startBridgeProcess({
        worker: true,
        concurrency: 64,
        ...(o.postgresUrl ? { storeUrl: o.postgresUrl } : {}),
        ...(replicas[0] ? { secret: replicas[0].secret } : {}),
        targets: [{ name: 'app', baseUrl: proxy.url, token: scim.token }],
      }),
    );
  }
  const first = replicas[0]!;
  const counter = pairCounter(o.postgresUrl ? { postgresUrl: o.postgresUrl } : { sqliteFile: first.dbFile! });
  const spread = async (version: number) => {
    const perReplica = replicas.map(() => [] as Array<{ headers: Record<string, string>; body: string }>);
    for (let i = 0; i < users; i += 1) perReplica[i % replicas.length]!.push(signedDelivery(first.secret, employee(i, version)));
    await Promise.all(replicas.map((r, i) => sendAll(r.url, perReplica[i]!, Math.ceil(32 / replicas.length))));
  };
  try {
    const cpu = () => ({ service: replicas.reduce((n, r) => n + cpuMs(r.child.pid!), 0), scim: scim.pid ? cpuMs(scim.pid) : Number.NaN, postgres: o.postgresUrl ? cpuMsOfProgram('postgres') : Number.NaN });
    const cpuBefore = cpu();
    const started = performance.now();
    await spread(1);
    await untilSettled(counter, users, 30 * 60_000);
    const seconds = (performance.now() - started) / 1000;
    const cpuAfter = cpu();
    const scimRequests = proxy.stats.requests;
    if (process.env.BENCH_VERBOSE) console.error('initial load, SCIM by method:', proxy.stats.byMethod, 'upstream ms:', proxy.stats.upstreamMsByMethod);
    const verified = await verify(scim, users);

    proxy.reset();
    const resyncStarted = performance.now();
    await spread(2);
    await untilSettled(counter, users, 60_000);
    const resync = { seconds: (performance.now() - resyncStarted) / 1000, scimWrites: proxy.stats.writes, scimRequests: proxy.stats.requests };

    return {
      users,
      seconds,
      usersPerSecond: users / seconds,
      scimRequests,
      sequentialUsersPerSecond: baselines.sequential,
      concurrentUsersPerSecond: baselines.concurrent,
      baselineSample: sample,
      resync,
      verified,
      peakRssMb: Math.max(...replicas.map((r) => r.peakRssMb())),
      cpuPerUser: { serviceMs: (cpuAfter.service - cpuBefore.service) / users, scimServerMs: (cpuAfter.scim - cpuBefore.scim) / users, postgresMs: (cpuAfter.postgres - cpuBefore.postgres) / users },
    };
  } finally {
    await counter.close();
    for (const r of replicas) await r.stop();
    await proxy.close();
    await scim.stop();
  }
}
