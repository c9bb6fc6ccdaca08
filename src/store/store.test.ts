import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestSchema, probePostgres, type TestSchema } from '../../test/helpers/postgres.js';
import type { EmployeeRecord } from '../domain/employee.js';
import type { AuditEntry } from './audit.js';
import { openStore } from './index.js';
import { KyselyStore } from './kysely-store.js';
import type { ClaimedPair, IntakeInput, PairResult, Store } from './store.js';

/**
 * The store contract: every case runs on SQLite and on PostgreSQL, so the one Kysely implementation
 * cannot drift between the dialects. The cases after it need a server several replicas share.
 */

const targets = ['app1', 'app2'];
const record = (over: Partial<EmployeeRecord> = {}): EmployeeRecord => ({ id: 'E-1', status: 'active', version: 1, givenName: 'Ada', ...over });
const ok = (scimId: string | null, nextCheckAt: number | null = null): PairResult => ({ kind: 'ok', scimId, appliedHash: 'h', appliedUser: {}, appliedGroups: [], state: 'active', inactiveSince: null, nextCheckAt });
const key = (p: ClaimedPair) => `${p.target}/${p.employeeId}`;

interface Backend {
  name: 'sqlite' | 'postgres';
  /** A fresh, empty database; `url` may be opened more than once (several replicas). */
  create(): Promise<{ url: string; dispose(): Promise<void> }>;
}

const sqliteBackend: Backend = {
  name: 'sqlite',
  create() {
    const dir = mkdtempSync(join(tmpdir(), 'store-'));
    return Promise.resolve({ url: `sqlite:${join(dir, 'bridge.db')}`, dispose: () => Promise.resolve(rmSync(dir, { recursive: true, force: true })) });
  },
};

const postgres = await probePostgres();
const postgresBackend: Backend = {
  name: 'postgres',
  async create() {
    const schema: TestSchema = await createTestSchema('store_test');
    return { url: schema.url, dispose: () => schema.drop() };
  },
};

const backends = [
  { backend: sqliteBackend, available: true },
  { backend: postgresBackend, available: postgres.ok },
];

function intakeOf(store: Store, targetsList: readonly string[] = targets) {
  return (id: string, records: EmployeeRecord[], now = 1000) =>
    store.intake({ source: 'hr', deliveryId: id, eventType: 'employee.upserted', receivedAt: now, correlationId: `c-${id}`, intake: { kind: 'records', records }, targets: targetsList });
}

describe.each(backends)('store contract on $backend.name', ({ backend, available }) => {
  let store: Store;
  let dispose: () => Promise<void>;
  let url: string;
  const logged: AuditEntry[] = [];
  beforeEach(async (ctx) => {
    if (!available) {
      ctx.skip();
      return;
    }
    logged.length = 0;
    ({ url, dispose } = await backend.create());
    store = await openStore(url, (e) => logged.push(...e));
  });
  afterEach(async () => {
    if (!available) return;
    await store.close();
    await dispose();
  });

  const deliver = (id: string, records: EmployeeRecord[], now = 1000) => intakeOf(store)(id, records, now);

  it('reports its dialect', () => {
    expect(store.dialect).toBe(backend.name);
  });

  it('refuses a database that a newer version migrated, naming the migration it does not know', async () => {
    await sql`insert into kysely_migration (name, timestamp) values (${'9999_from_a_later_version'}, ${new Date().toISOString()})`.execute((store as KyselyStore).db);
    await expect(openStore(url)).rejects.toThrow(/migrated by a newer hr-scim-bridge \(migration 9999_from_a_later_version is not part of this version\).*Rolling back/);
  });

  it('deduplicates deliveries and ignores older records', async () => {
    expect(await deliver('d1', [record({ version: 2 })])).toEqual({ duplicate: false, applied: 1, ignored: 0 });
    expect(await deliver('d1', [record({ version: 3 })])).toEqual({ duplicate: true, applied: 0, ignored: 0 });
    expect(await deliver('d2', [record({ version: 1, givenName: 'Old' })])).toEqual({ duplicate: false, applied: 0, ignored: 1 });
    const status = await store.employeeStatus('E-1');
    expect(status.record?.version).toBe(2);
    expect(status.record?.givenName).toBe('Ada');
    expect(status.pairs.map((p) => [p.target, p.dirty])).toEqual([['app1', true], ['app2', true]]);
    expect(logged.map((e) => e.action)).toEqual(['delivery.received', 'record.updated', 'delivery.duplicate', 'delivery.received', 'record.ignored_older']);
  });

  it('lets a delete without a version outrank a late copy of the record it ended', async () => {
    await deliver('d1', [record({ version: 17 })]);
    await store.intake({ source: 'hr', deliveryId: 'del', eventType: 'employee.deleted', receivedAt: 1100, correlationId: 'c', intake: { kind: 'deleted', employeeIds: ['E-1'], version: null, sourceTimestamp: null }, targets: ['app1', 'app2'] });
    expect(await deliver('d1-again', [record({ version: 17 })], 1200)).toMatchObject({ applied: 0, ignored: 1 });
    expect((await store.employeeStatus('E-1')).record?.status).toBe('terminated');
    expect(await deliver('rehire', [record({ version: 18 })], 1300)).toMatchObject({ applied: 1 });
    expect((await store.employeeStatus('E-1')).record?.status).toBe('active');
  });

  it('does not claim a failed pair again when its scheduled check comes round', async () => {
    await deliver('d1', [record()]);
    const [first] = await store.claimPairs('w', 2000, 60_000, 1, ['app2']);
    await store.completePair('w', first!, { kind: 'ok', scimId: 'u1', appliedHash: 'h', appliedUser: {}, appliedGroups: [], state: 'active', inactiveSince: null, nextCheckAt: 2500 }, [], 2100);
    const [due] = await store.claimPairs('w', 3000, 60_000, 1, ['app2']);
    expect(due?.employeeId).toBe('E-1');
    await store.completePair('w', due!, { kind: 'failed', error: 'SCIM_REJECTED: no' }, [], 3100);
    expect(await store.claimPairs('w', 4000, 60_000, 1, ['app2'])).toEqual([]);
  });

  it('remembers the groups a sync set out to join until a sync completes', async () => {
    await deliver('d1', [record()]);
    const [first] = await store.claimPairs('w1', 2000, 60_000, 1, ['app2']);
    await store.recordIntendedGroups('w1', 'app1', 'E-1', ['dept-a', 'dept-b']);
    await store.completePair('w1', first!, { kind: 'retry', error: 'SCIM_TIMEOUT', nextAttemptAt: 2100 }, [], 2050);
    const [again] = await store.claimPairs('w1', 2200, 60_000, 1, ['app2']);
    expect(again?.intendedGroups).toEqual(['dept-a', 'dept-b']);
    await store.completePair('w1', again!, { kind: 'ok', scimId: 'u1', appliedHash: 'h', appliedUser: {}, appliedGroups: ['dept-a'], state: 'active', inactiveSince: null, nextCheckAt: null }, [], 2300);
    await deliver('d2', [record({ version: 2, title: 'CTO' })], 2400);
    const [third] = await store.claimPairs('w1', 2500, 60_000, 1, ['app2']);
    expect(third?.intendedGroups).toEqual([]);
    expect(third?.appliedGroups).toEqual(['dept-a']);
  });

  it('keeps rejected deliveries without letting them block a later delivery with the same id', async () => {
    await store.rejectDelivery({ source: 'hr', deliveryId: 'd1', receivedAt: 900, correlationId: 'c-r', code: 'HRIS_SIGNATURE', reason: 'bad', body: '{}' });
    await store.rejectDelivery({ source: 'hr', deliveryId: 'd1', receivedAt: 950, correlationId: 'c-r2', code: 'HRIS_SIGNATURE', reason: 'bad', body: '{}' });
    expect(await deliver('d1', [record()])).toMatchObject({ duplicate: false, applied: 1 });
  });

  it('returns times and counters as numbers', async () => {
    await deliver('d1', [record({ version: 9_007_199_254 })], 1_765_000_000_123);
    const [pair] = await store.claimPairs('w', 1_765_000_000_200, 60_000, 1, []);
    expect(pair?.generation).toBe(1);
    expect(typeof pair?.attempts).toBe('number');
    await store.completePair('w', pair!, { kind: 'retry', error: 'x', nextAttemptAt: 1_765_000_009_000 }, [], 1_765_000_000_300);
    const status = await store.employeeStatus('E-1');
    expect(status.pairs.find((p) => p.target === pair!.target)).toMatchObject({ attempts: 1, updatedAt: 1_765_000_000_300, dirty: true });
    expect(await store.stats()).toEqual({ dirtyByTarget: { app1: 1, app2: 1 }, failedByTarget: {}, oldestDirtySince: 1_765_000_000_123 });
    const db = (store as KyselyStore).db;
    const row = await db.selectFrom('employees').select(['version', 'updated_at']).executeTakeFirstOrThrow();
    expect(row).toEqual({ version: 9_007_199_254, updated_at: 1_765_000_000_123 });
  });

  it('leases a pair to one worker and keeps a change that arrives during the sync', async () => {
    await deliver('d1', [record()]);
    const first = await store.claimPairs('w1', 2000, 60_000, 10, []);
    expect(first.map((p) => p.target).sort()).toEqual(targets);
    expect(await store.claimPairs('w2', 2001, 60_000, 10, [])).toEqual([]);
    await deliver('d2', [record({ version: 2, title: 'Engineer' })], 2500);
    const app1 = first.find((p) => p.target === 'app1')!;
    await store.completePair('w1', app1, ok('u1'), [], 3000);
    const again = await store.claimPairs('w2', 3001, 60_000, 10, ['app2']);
    expect(again.map((p) => [p.target, p.scimId, p.record?.title])).toEqual([['app1', 'u1', 'Engineer']]);
    await store.completePair('w2', again[0]!, ok('u1'), [], 3002);
    expect(await store.claimPairs('w2', 3003, 60_000, 10, ['app2'])).toEqual([]);
  });

  it('keeps a renewed lease from another worker, and renews no lease that has already expired', async () => {
    await deliver('d1', [record()]);
    const held = await store.claimPairs('w1', 2000, 1000, 10, []);
    expect(await store.renewLeases('w1', held, 2900, 1000)).toBe(2);
    expect(await store.claimPairs('w2', 3500, 1000, 10, [])).toHaveLength(0);
    expect(await store.renewLeases('w1', held, 5000, 1000)).toBe(0);
    expect(await store.claimPairs('w2', 5001, 1000, 10, [])).toHaveLength(2);
  });

  it('renews only the pairs named, and only while their owner holds them', async () => {
    await deliver('d1', [record(), record({ id: 'E-2' })]);
    const held = await store.claimPairs('w1', 2000, 1000, 10, []);
    expect(held).toHaveLength(4);
    // The sync of the first pair has ended without its outcome recorded: its lease must run out.
    const [ended, ...running] = held;
    expect(await store.renewLeases('w2', running, 2900, 1000)).toBe(0);
    expect(await store.renewLeases('w1', [...running, { target: 'app1', employeeId: 'E-unknown' }], 2900, 1000)).toBe(3);
    const retaken = await store.claimPairs('w2', 3001, 1000, 10, []);
    expect(retaken.map((p) => [p.target, p.employeeId])).toEqual([[ended!.target, ended!.employeeId]]);
    expect(await store.renewLeases('w1', [], 3100, 1000)).toBe(0);
  });

  it('gives an expired lease to another worker and ignores the late completion of the first', async () => {
    await deliver('d1', [record()]);
    const stale = await store.claimPairs('w1', 2000, 1000, 10, []);
    expect(await store.claimPairs('w2', 2500, 1000, 10, [])).toHaveLength(0);
    const taken = await store.claimPairs('w2', 3001, 1000, 10, []);
    expect(taken).toHaveLength(2);
    await store.completePair('w1', stale[0]!, ok('from-w1'), [], 3100);
    expect(await store.scimIdOf(stale[0]!.target, 'E-1')).toBeNull();
    await store.completePair('w2', taken.find((p) => p.target === stale[0]!.target)!, ok('from-w2'), [], 3200);
    expect(await store.scimIdOf(stale[0]!.target, 'E-1')).toBe('from-w2');
  });


  it('keeps the applied hash untrusted after a takeover of an expired lease, even if the new sync is released', async () => {
    await deliver('d1', [record()]);
    for (const p of await store.claimPairs('w1', 2000, 1000, 10, [])) await store.completePair('w1', p, ok(`u-${p.target}`), [], 2100);
    await deliver('d2', [record({ version: 2, title: 'Engineer' })], 2200);
    await store.claimPairs('w1', 2300, 1000, 10, []);
    // w1 dies mid-sync; w2 takes over and gives the pairs back before sending anything.
    const taken = await store.claimPairs('w2', 3500, 1000, 10, []);
    expect(taken.map((p) => p.appliedHash)).toEqual([null, null]);
    for (const p of taken) await store.completePair('w2', p, { kind: 'released' }, [], 3600);
    expect((await store.claimPairs('w3', 3700, 1000, 10, [])).map((p) => p.appliedHash)).toEqual([null, null]);
  });

  it('hands a pair whose sync never completed to the next worker without its applied hash', async () => {
    await deliver('d1', [record()]);
    const claimed = await store.claimPairs('w1', 2000, 1000, 10, []);
    for (const p of claimed) await store.completePair('w1', p, ok(`u-${p.target}`), [], 2100);
    await deliver('d2', [record({ version: 2, title: 'Engineer' })], 2200);
    // w1 dies during its sync on app1; w0 shuts down with its sync on app2 still running.
    const [a] = await store.claimPairs('w1', 2300, 1000, 10, ['app2']);
    const [b] = await store.claimPairs('w0', 2300, 60_000, 10, ['app1']);
    expect([a!.appliedHash, b!.appliedHash]).toEqual(['h', 'h']);
    await store.releaseLeases('w0');
    const afterDeath = await store.claimPairs('w2', 3500, 1000, 10, []);
    expect(afterDeath.map((p) => [p.target, p.scimId, p.appliedHash]).sort()).toEqual([
      ['app1', 'u-app1', null],
      ['app2', 'u-app2', null],
    ]);
    // A completed sync is trusted again.
    for (const p of afterDeath) await store.completePair('w2', p, ok(p.scimId), [], 3600);
    await store.requeue('E-1', targets, 3700, 'c-requeue');
    expect((await store.claimPairs('w3', 3800, 1000, 10, [])).map((p) => p.appliedHash)).toEqual(['h', 'h']);
  });
  it('retries later, fails permanently, releases leases', async () => {
    await deliver('d1', [record()]);
    const [a, b] = await store.claimPairs('w', 2000, 60_000, 10, []);
    await store.completePair('w', a!, { kind: 'retry', error: 'HTTP 503', nextAttemptAt: 5000 }, [], 2100);
    await store.completePair('w', b!, { kind: 'failed', error: 'HTTP 400' }, [], 2100);
    expect(await store.claimPairs('w', 4000, 60_000, 10, [])).toEqual([]);
    const retried = await store.claimPairs('w', 5000, 60_000, 10, []);
    expect(retried.map((p) => [p.target, p.attempts])).toEqual([[a!.target, 1]]);
    expect((await store.failedPairs(10)).map((p) => [p.target, p.employeeId, p.lastError])).toEqual([[b!.target, 'E-1', 'HTTP 400']]);
    expect((await store.stats()).failedByTarget).toEqual({ [b!.target]: 1 });
    await store.releaseLeases('w');
    expect(await store.claimPairs('w2', 5001, 60_000, 10, [])).toHaveLength(1);
  });

  it('claims a pair again when its next check comes, and only then', async () => {
    await deliver('d1', [record()]);
    for (const p of await store.claimPairs('w', 2000, 60_000, 10, [])) await store.completePair('w', p, ok(`u-${p.target}`, 10_000), [], 2100);
    expect(await store.claimPairs('w', 9_999, 60_000, 10, [])).toEqual([]);
    const due = await store.claimPairs('w', 10_000, 60_000, 10, []);
    expect(due.map((p) => p.target).sort()).toEqual(targets);
    for (const p of due) await store.completePair('w', p, ok(`u-${p.target}`, null), [], 10_100);
    expect(await store.claimPairs('w', 20_000, 60_000, 10, [])).toEqual([]);
  });

  it('marks the reports of a newly provisioned manager dirty', async () => {
    await deliver('d1', [record({ id: 'E-2', managerId: 'E-1' })]);
    await deliver('d2', [record({ id: 'E-1' })]);
    const pairs = await store.claimPairs('w', 2000, 60_000, 10, ['app2']);
    const report = pairs.find((p) => p.employeeId === 'E-2')!;
    await store.completePair('w', report, ok('u2'), [], 2100);
    await store.completePair('w', pairs.find((p) => p.employeeId === 'E-1')!, ok('u1'), [], 2200);
    const backfill = await store.claimPairs('w', 2300, 60_000, 10, ['app2']);
    expect(backfill.map((p) => p.employeeId)).toEqual(['E-2']);
  });

  it('marks no reports for a new manager whose sync had lost its lease', async () => {
    await deliver('d1', [record({ id: 'E-2', managerId: 'E-1' })]);
    await deliver('d2', [record({ id: 'E-1' })]);
    const pairs = await store.claimPairs('w', 2000, 60_000, 10, ['app2']);
    await store.completePair('w', pairs.find((p) => p.employeeId === 'E-2')!, ok('u2'), [], 2100);
    // The manager's lease runs out and another worker takes the pair over before the first one finishes.
    expect((await store.claimPairs('w2', 62_001, 60_000, 10, ['app2'])).map((p) => p.employeeId)).toEqual(['E-1']);
    logged.length = 0;
    await store.completePair('w', pairs.find((p) => p.employeeId === 'E-1')!, ok('u1'), [], 62_100);
    expect(logged.map((e) => e.action)).toEqual(['sync.superseded']);
    expect(await store.claimPairs('w3', 62_200, 60_000, 10, ['app2'])).toEqual([]);
  });

  it('marks an employee who is their own manager dirty again once their account exists', async () => {
    await deliver('d1', [record({ id: 'E-1', managerId: 'E-1' })]);
    const [pair] = await store.claimPairs('w', 2000, 60_000, 10, ['app2']);
    await store.completePair('w', pair!, ok('u1'), [], 2100);
    const again = await store.claimPairs('w', 2200, 60_000, 10, ['app2']);
    expect(again.map((p) => [p.employeeId, p.scimId])).toEqual([['E-1', 'u1']]);
  });

  it('remembers group ids and paused targets', async () => {
    expect(await store.saveGroupId('app1', 'dept-eng', 'g1')).toBe('g1');
    // A second replica that created the group too is told the id on record.
    expect(await store.saveGroupId('app1', 'dept-eng', 'g2')).toBe('g1');
    expect(await store.groupId('app1', 'dept-eng')).toBe('g1');
    // A stale id is not the one on record: forgetting it keeps the record.
    await store.forgetGroupId('app1', 'dept-eng', 'g2');
    expect(await store.groupId('app1', 'dept-eng')).toBe('g1');
    await store.forgetGroupId('app1', 'dept-eng', 'g1');
    expect(await store.groupId('app1', 'dept-eng')).toBeNull();
    const audit: AuditEntry = { at: 1, correlationId: 'c', action: 'target.paused', outcome: 'failure', target: 'app1' };
    await store.pauseTarget('app1', 'HTTP 401', 'fp1', 1, audit);
    await store.pauseTarget('app1', 'HTTP 403', 'fp2', 2, audit);
    expect(await store.pausedTargets()).toEqual([{ name: 'app1', reason: 'HTTP 403', fingerprint: 'fp2' }]);
    await deliver('d1', [record()]);
    expect((await store.claimPairs('w', 2000, 60_000, 10, ['app1'])).map((p) => p.target)).toEqual(['app2']);
    await store.resumeTarget('app1', { ...audit, action: 'target.resumed', outcome: 'success' });
    expect(await store.pausedTargets()).toEqual([]);
  });

  it('requeues one employee or all of them', async () => {
    await deliver('d1', [record(), record({ id: 'E-2' })]);
    for (const p of await store.claimPairs('w', 2000, 60_000, 10, [])) await store.completePair('w', p, ok('u'), [], 2100);
    expect(await store.requeue('E-1', targets, 3000, 'c-rq')).toBe(1);
    expect((await store.claimPairs('w', 3001, 60_000, 10, [])).map(key).sort()).toEqual(['app1/E-1', 'app2/E-1']);
    expect(await store.requeue(null, ['app1'], 4000, 'c-rq')).toBe(2);
    expect((await store.claimPairs('w2', 4001, 60_000, 10, [])).map(key).sort()).toEqual(['app1/E-2']);
  });

  it('keeps a verifiable audit chain and detects a changed row', async () => {
    await deliver('d1', [record()]);
    await deliver('d2', [record({ version: 2, title: 'CTO' })]);
    expect(await store.verifyAudit()).toMatchObject({ ok: true, rows: 4 });
    const db = (store as KyselyStore).db;
    await sql`update audit set outcome = 'failure' where seq = 2`.execute(db);
    expect(await store.verifyAudit()).toMatchObject({ ok: false, brokenAt: 2 });
  });

  it('queues ID-only deliveries for a fetch and terminates an employee the source no longer has', async () => {
    await deliver('d1', [record()]);
    await store.intake({ source: 'bhr', deliveryId: 'b1', eventType: 'employee.deleted', receivedAt: 5000, correlationId: 'c', intake: { kind: 'fetch', employeeIds: ['E-1'] }, targets });
    const jobs = await store.claimFetches('w', 6000, 30_000, 10);
    expect(jobs.map((j) => j.employeeId)).toEqual(['E-1']);
    expect(await store.claimFetches('w2', 6001, 30_000, 10)).toEqual([]);
    await store.completeFetch(jobs[0]!, null, 7000, targets);
    expect((await store.employeeStatus('E-1')).record?.status).toBe('terminated');
    expect(await store.claimFetches('w', 8000, 30_000, 10)).toEqual([]);
  });

  it('claims fetches oldest request first, each to one claimer until its lease runs out', async () => {
    const queue = (id: string, at: number) => store.intake({ source: 'bhr', deliveryId: `q-${id}`, eventType: 'employee.changed', receivedAt: at, correlationId: `c-${id}`, intake: { kind: 'fetch', employeeIds: [id] }, targets });
    // Request order differs from the ids' order and from the order of insertion.
    await queue('E-1', 1300);
    await queue('E-3', 1100);
    await queue('E-2', 1200);
    expect((await store.claimFetches('w1', 2000, 30_000, 2)).map((j) => [j.employeeId, j.requestedAt])).toEqual([['E-3', 1100], ['E-2', 1200]]);
    expect((await store.claimFetches('w2', 2001, 30_000, 10)).map((j) => j.employeeId)).toEqual(['E-1']);
    expect(await store.claimFetches('w3', 2002, 30_000, 10)).toEqual([]);
    // Leases that ran out are claimed again, in the same order.
    expect((await store.claimFetches('w3', 40_000, 30_000, 10)).map((j) => j.employeeId)).toEqual(['E-3', 'E-2', 'E-1']);
  });

  it('keeps the newer record when a fetch result and a delivery for the same employee commit together', async () => {
    await deliver('d0', [record({ id: 'E-1', version: 1, title: 'Engineer' }), record({ id: 'E-2', version: 1, title: 'Engineer' })]);
    const fetchOf = (id: string) => store.intake({ source: 'hr', deliveryId: `f-${id}`, eventType: 'employee.changed', receivedAt: 1500, correlationId: `cf-${id}`, intake: { kind: 'fetch', employeeIds: [id] }, targets });
    await fetchOf('E-1');
    await fetchOf('E-2');
    const jobs = await store.claimFetches('w', 2000, 30_000, 10);
    const job = (id: string) => jobs.find((j) => j.employeeId === id)!;
    // Queued in one turn of the event loop: on SQLite they share one transaction, in this order.
    await Promise.all([
      deliver('d1', [record({ id: 'E-1', version: 3, title: 'Lead' })], 2100),
      store.completeFetch(job('E-1'), record({ id: 'E-1', version: 2, title: 'Senior' }), 2100, targets),
      store.completeFetch(job('E-2'), record({ id: 'E-2', version: 5, title: 'Director' }), 2100, targets),
      deliver('d2', [record({ id: 'E-2', version: 4, title: 'Manager' })], 2100),
    ]);
    expect((await store.employeeStatus('E-1')).record).toMatchObject({ version: 3, title: 'Lead' });
    expect((await store.employeeStatus('E-2')).record).toMatchObject({ version: 5, title: 'Director' });
    expect(await store.verifyAudit()).toMatchObject({ ok: true });
  });

  it('applies unversioned records of one employee in the order they arrived, across batches', async () => {
    const pending: Promise<unknown>[] = [];
    for (let i = 0; i < 60; i += 1) {
      pending.push(deliver(`o${i}`, [record({ version: null, title: `T${i}` })], 1000 + i));
      // A new turn of the event loop: each delivery goes into a later batch than the one before it.
      await new Promise((resolve) => setImmediate(resolve));
    }
    await Promise.all(pending);
    expect((await store.employeeStatus('E-1')).record?.title).toBe('T59');
  });

  it('commits concurrent deliveries together, each with its own result, duplicates included', async () => {
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        store.intake({ source: 'hr', deliveryId: `d${i % 40}`, eventType: 'employee.upserted', receivedAt: 1000 + i, correlationId: `c${i}`, intake: { kind: 'records', records: [record({ id: `E-${i % 40}`, version: i })] }, targets }),
      ),
    );
    expect(results.filter((r) => r.duplicate)).toHaveLength(10);
    expect(results.slice(0, 40).every((r) => !r.duplicate && r.applied === 1)).toBe(true);
    const db = (store as KyselyStore).db;
    const accepted = await db.selectFrom('deliveries').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    expect(Number(accepted.n)).toBe(40);
    expect(await store.verifyAudit()).toMatchObject({ ok: true });
  });

  it('decides each delivery of one commit against the ones before it in the same commit', async () => {
    await deliver('d0', [record({ version: 1, title: 'Engineer' })]);
    const claimed = await store.claimPairs('w', 1500, 60_000, 10, []);
    for (const p of claimed) await store.completePair('w', p, ok(`u-${p.target}`), [], 1600);
    const send = (id: string, intake: IntakeInput['intake']) => store.intake({ source: 'hr', deliveryId: id, eventType: 'employee.upserted', receivedAt: 2000, correlationId: `c-${id}`, intake, targets });
    // Queued in one turn of the event loop, so they commit together, in this order.
    const results = await Promise.all([
      send('d1', { kind: 'records', records: [record({ version: 3, title: 'Lead' })] }),
      send('d2', { kind: 'records', records: [record({ version: 2, title: 'Senior' })] }),
      send('d1', { kind: 'records', records: [record({ version: 9, title: 'Duplicate' })] }),
      send('d3', { kind: 'records', records: [record({ version: 3, title: 'Lead' })] }),
      send('d4', { kind: 'deleted', employeeIds: ['E-1', 'E-404'], version: 4, sourceTimestamp: null }),
      send('d5', { kind: 'records', records: [record({ id: 'E-2', version: 1 }), record({ id: 'E-2', version: 2, title: 'Manager' })] }),
    ]);
    expect(results.map((r) => [r.duplicate, r.applied, r.ignored])).toEqual([
      [false, 1, 0],
      [false, 0, 1],
      [true, 0, 0],
      [false, 1, 0],
      [false, 1, 1],
      [false, 2, 0],
    ]);
    const { record: e1, pairs } = await store.employeeStatus('E-1');
    expect([e1?.status, e1?.title, e1?.version]).toEqual(['terminated', 'Lead', 4]);
    expect((await store.employeeStatus('E-2')).record?.title).toBe('Manager');
    // The pairs of both employees are dirty once, under the last delivery that changed them.
    const dirty = await store.claimPairs('w', 2100, 60_000, 10, []);
    expect(dirty.map((p) => [p.target, p.employeeId, p.correlationId, p.scimId]).sort()).toEqual([
      ['app1', 'E-1', 'c-d4', 'u-app1'],
      ['app1', 'E-2', 'c-d5', null],
      ['app2', 'E-1', 'c-d4', 'u-app2'],
      ['app2', 'E-2', 'c-d5', null],
    ]);
    expect(pairs).toHaveLength(2);
    expect(await store.verifyAudit()).toMatchObject({ ok: true });
  });
});

/** Several replicas on one PostgreSQL database: each store below stands for one replica's process. */
describe.skipIf(!postgres.ok)('several replicas on PostgreSQL', () => {
  let schema: TestSchema;
  const stores: Store[] = [];
  const replica = async () => {
    const s = await openStore(schema.url);
    stores.push(s);
    return s;
  };
  beforeEach(async () => {
    schema = await createTestSchema('replicas_test');
  });
  afterEach(async () => {
    await Promise.all(stores.splice(0).map((s) => s.close()));
    await schema.drop();
  });

  async function seed(store: Store, employees: number, now = 1000): Promise<void> {
    const records = Array.from({ length: employees }, (_, i) => record({ id: `E-${i}` }));
    for (let i = 0; i < records.length; i += 50) await intakeOf(store)(`seed-${i}`, records.slice(i, i + 50), now);
  }

  /** Claimers from every store, all at once, until nothing is left; returns every claim each made. */
  async function drain(replicas: Store[], claimersPerReplica: number, now: number, limit: number, complete?: (s: Store, owner: string, p: ClaimedPair) => Promise<void>) {
    const claims: Array<{ owner: string; pair: string }> = [];
    await Promise.all(
      replicas.flatMap((s, r) =>
        Array.from({ length: claimersPerReplica }, async (_, c) => {
          const owner = `r${r}-w${c}`;
          for (;;) {
            const got = await s.claimPairs(owner, now, 60_000, limit, []);
            if (got.length === 0) return;
            for (const p of got) {
              claims.push({ owner, pair: key(p) });
              if (complete) await complete(s, owner, p);
            }
          }
        }),
      ),
    );
    return claims;
  }

  it('refreshes planner statistics after thousands of changed records, and not for unchanged ones', async () => {
    const s = await replica();
    const db = (s as KyselyStore).db;
    // Manual ANALYZEs only: autovacuum's own count separately as autoanalyze_count.
    const analyses = async () => {
      const { rows } = await sql<{ n: number }>`select coalesce(sum(analyze_count), 0)::int as n from pg_stat_user_tables where schemaname = ${schema.name} and relname in ('pairs', 'employees')`.execute(db);
      return rows[0]?.n ?? 0;
    };
    const records = Array.from({ length: 2_000 }, (_, i) => record({ id: `E-${i}` }));
    const send = async (prefix: string, version: number) => {
      for (let i = 0; i < records.length; i += 100) await intakeOf(s)(`${prefix}-${i}`, records.slice(i, i + 100).map((r) => ({ ...r, version })));
    };
    await send('load', 1);
    const deadline = Date.now() + 15_000;
    while ((await analyses()) < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(await analyses()).toBe(2);

    // The same records again, newer versions with the same content: nothing changes, nothing to analyse.
    await send('resync', 2);
    await new Promise((r) => setTimeout(r, 1_500));
    expect(await analyses()).toBe(2);
  });

  it('counts and lists failed pairs from their partial index, also under a generic plan', async () => {
    const s = await replica();
    const db = (s as KyselyStore).db;
    await seed(s, 3);
    const [pair] = await s.claimPairs('w', 2000, 60_000, 1, []);
    await s.completePair('w', pair!, { kind: 'failed', error: 'HTTP 400' }, [], 2100);
    const scans = async () => {
      const { rows } = await sql<{ n: number }>`select coalesce(sum(idx_scan), 0)::int as n from pg_stat_user_indexes where schemaname = ${schema.name} and indexrelname = 'pairs_failed'`.execute(db);
      return rows[0]?.n ?? 0;
    };
    // A store whose connections plan every statement for any value, as PostgreSQL may for a statement a
    // pooler prepares, and scan these few rows by index whenever an index can answer.
    const url = new URL(schema.url);
    url.searchParams.set('options', `${url.searchParams.get('options') ?? ''} -c plan_cache_mode=force_generic_plan -c enable_seqscan=off`);
    const before = await scans();
    const generic = await openStore(url.toString());
    try {
      expect((await generic.stats()).failedByTarget).toEqual({ [pair!.target]: 1 });
      expect((await generic.failedPairs(10)).map((p) => p.employeeId)).toEqual([pair!.employeeId]);
    } finally {
      // A session reports its index scans when it ends (or idle, after up to 10 s).
      await generic.close();
    }
    const deadline = Date.now() + 5_000;
    while ((await scans()) < before + 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(await scans()).toBeGreaterThanOrEqual(before + 2);
  });

  it('runs the migrations once when replicas start together', async () => {
    const opened = await Promise.all([replica(), replica(), replica(), replica()]);
    expect(opened.every((s) => s.dialect === 'postgres')).toBe(true);
    const db = (opened[0] as KyselyStore).db;
    const { rows } = await sql<{ name: string; n: number }>`select name, count(*)::int as n from kysely_migration group by name order by name`.execute(db);
    expect(rows).toEqual([
      { name: '0001_initial', n: 1 },
      { name: '0002_intended_groups', n: 1 },
      { name: '0003_pairs_dirty_since', n: 1 },
      { name: '0004_pairs_failed', n: 1 },
      { name: '0005_pairs_due', n: 1 },
      { name: '0006_fetches_due', n: 1 },
      { name: '0007_pairs_dirty_by_target', n: 1 },
    ]);
    const { rows: tables } = await sql<{ n: number }>`select count(*)::int as n from information_schema.tables where table_schema = ${schema.name}`.execute(db);
    expect(tables[0]?.n).toBe(9);
  });

  it('never hands the same pair to two claimers at once', async () => {
    const [a, b] = await Promise.all([replica(), replica()]);
    await seed(a!, 150);
    const claims = await drain([a!, b!], 4, 2000, 7);
    const pairs = claims.map((c) => c.pair);
    expect(pairs).toHaveLength(300);
    expect(new Set(pairs).size).toBe(300);
    // Both replicas took part, so the test did exercise two connections pools against each other.
    expect(new Set(claims.map((c) => c.owner.slice(0, 2)))).toEqual(new Set(['r0', 'r1']));
  });

  it('lets another replica take over a pair whose owner died', async () => {
    const [a, b] = await Promise.all([replica(), replica()]);
    await seed(a!, 3);
    const dead = await a!.claimPairs('dead', 2000, 5_000, 100, []);
    expect(dead).toHaveLength(6);
    expect(await b!.claimPairs('alive', 6_999, 5_000, 100, [])).toEqual([]);
    const taken = await b!.claimPairs('alive', 7_001, 5_000, 100, []);
    expect(taken.map(key).sort()).toEqual(dead.map(key).sort());
    for (const p of taken) await b!.completePair('alive', p, ok(`u-${key(p)}`), [], 7_100);
    expect(await a!.claimPairs('other', 100_000, 5_000, 100, [])).toEqual([]);
  });

  it('fires an effective-date transition on exactly one replica', async () => {
    const [a, b, c] = await Promise.all([replica(), replica(), replica()]);
    await seed(a!, 60);
    await drain([a!], 1, 2000, 50, (s, owner, p) => s.completePair(owner, p, ok(`u-${key(p)}`, 50_000), [], 2100));
    expect(await b!.claimPairs('early', 49_999, 60_000, 500, [])).toEqual([]);
    const claims = await drain([a!, b!, c!], 3, 50_000, 5, (s, owner, p) => s.completePair(owner, p, ok(`u-${key(p)}`, null), [], 50_100));
    expect(claims).toHaveLength(120);
    expect(new Set(claims.map((x) => x.pair)).size).toBe(120);
    expect(await c!.claimPairs('later', 90_000, 60_000, 500, [])).toEqual([]);
  });

  it('accepts the same new employee and the same delivery at several replicas at once', async () => {
    const [a, b, c] = await Promise.all([replica(), replica(), replica()]);
    const results = await Promise.all(
      [a!, b!, c!].flatMap((s, r) => [
        intakeOf(s)('same-delivery', [record({ id: 'E-new', version: 1 })], 1000),
        intakeOf(s)(`own-${r}`, [record({ id: 'E-new', version: 2 + r })], 1000),
        intakeOf(s)(`batch-${r}`, Array.from({ length: 20 }, (_, i) => record({ id: `E-b${(i * (r + 1)) % 20}`, version: r + 1 })), 1000),
      ]),
    );
    expect(results.filter((x, i) => i % 3 === 0 && !x.duplicate)).toHaveLength(1);
    expect((await a!.employeeStatus('E-new')).record?.version).toBe(4);
    const claimed = await drain([a!], 1, 2000, 100);
    expect(claimed).toHaveLength(2 * 21);
    expect(await a!.verifyAudit()).toMatchObject({ ok: true });
  });

  it('accepts deliveries naming the same employees in opposite orders at several replicas at once', async () => {
    const replicas = await Promise.all([replica(), replica(), replica()]);
    const ids = Array.from({ length: 30 }, (_, i) => `E-${i}`);
    const results = await Promise.allSettled(
      replicas.flatMap((s, r) =>
        Array.from({ length: 4 }, (_, k) => {
          const order = (r + k) % 2 ? [...ids].reverse() : ids;
          return intakeOf(s)(`d-${r}-${k}`, order.map((id) => record({ id, version: 10 * r + k })), 1000);
        }),
      ),
    );
    expect(results.filter((x) => x.status === 'rejected')).toEqual([]);
    const versions = await Promise.all(ids.map(async (id) => (await replicas[0]!.employeeStatus(id)).record?.version));
    expect(new Set(versions)).toEqual(new Set([23]));
    expect(await replicas[1]!.verifyAudit()).toMatchObject({ ok: true, rows: 12 * 31 });
  });

  it('keeps one audit chain when replicas append at the same time', async () => {
    const replicas = await Promise.all([replica(), replica(), replica()]);
    await Promise.all(
      replicas.flatMap((s, r) =>
        Array.from({ length: 30 }, (_, i) =>
          i % 2 === 0
            ? intakeOf(s)(`r${r}-d${i}`, [record({ id: `E-${r}-${i}` })], 1000 + i)
            : s.appendAudit([{ at: 1000 + i, correlationId: `r${r}-${i}`, action: 'scim.request', outcome: 'success', target: 'app1', details: { n: i } }]),
        ),
      ),
    );
    // 45 deliveries of two rows each, 45 single appends.
    expect(await replicas[0]!.verifyAudit()).toEqual({ ok: true, rows: 135 });
  });
});
