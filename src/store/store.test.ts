import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EmployeeRecord } from '../domain/employee.js';
import type { AuditEntry } from './audit.js';
import { openStore } from './index.js';
import { KyselyStore } from './kysely-store.js';
import type { Store } from './store.js';

const targets = ['app1', 'app2'];
const record = (over: Partial<EmployeeRecord> = {}): EmployeeRecord => ({ id: 'E-1', status: 'active', version: 1, givenName: 'Ada', ...over });

describe('store on SQLite', () => {
  let store: Store;
  const logged: AuditEntry[] = [];
  beforeEach(async () => {
    logged.length = 0;
    store = await openStore(`sqlite:${join(mkdtempSync(join(tmpdir(), 'store-')), 'bridge.db')}`, (e) => logged.push(...e));
  });
  afterEach(() => store.close());

  const deliver = (id: string, records: EmployeeRecord[], now = 1000) =>
    store.intake({ source: 'hr', deliveryId: id, eventType: 'employee.upserted', receivedAt: now, correlationId: `c-${id}`, intake: { kind: 'records', records }, targets });

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

  it('leases a pair to one worker and keeps a change that arrives during the sync', async () => {
    await deliver('d1', [record()]);
    const first = await store.claimPairs('w1', 2000, 60_000, 10, []);
    expect(first.map((p) => p.target).sort()).toEqual(targets);
    expect(await store.claimPairs('w2', 2001, 60_000, 10, [])).toEqual([]);
    await deliver('d2', [record({ version: 2, title: 'Engineer' })], 2500);
    const app1 = first.find((p) => p.target === 'app1')!;
    const ok = { kind: 'ok' as const, scimId: 'u1', appliedHash: 'h', appliedUser: {}, appliedGroups: [], state: 'active' as const, inactiveSince: null, nextCheckAt: null };
    await store.completePair('w1', app1, ok, [], 3000);
    const again = await store.claimPairs('w2', 3001, 60_000, 10, ['app2']);
    expect(again.map((p) => [p.target, p.scimId, p.record?.title])).toEqual([['app1', 'u1', 'Engineer']]);
    await store.completePair('w2', again[0]!, ok, [], 3002);
    expect(await store.claimPairs('w2', 3003, 60_000, 10, ['app2'])).toEqual([]);
  });

  it('gives an expired lease to another worker', async () => {
    await deliver('d1', [record()]);
    await store.claimPairs('w1', 2000, 1000, 10, []);
    expect(await store.claimPairs('w2', 2500, 1000, 10, [])).toHaveLength(0);
    expect(await store.claimPairs('w2', 3001, 1000, 10, [])).toHaveLength(2);
  });

  it('marks the reports of a newly provisioned manager dirty', async () => {
    await deliver('d1', [record({ id: 'E-2', managerId: 'E-1' })]);
    await deliver('d2', [record({ id: 'E-1' })]);
    const pairs = await store.claimPairs('w', 2000, 60_000, 10, ['app2']);
    const ok = (scimId: string | null) => ({ kind: 'ok' as const, scimId, appliedHash: 'h', appliedUser: {}, appliedGroups: [], state: 'active' as const, inactiveSince: null, nextCheckAt: null });
    const report = pairs.find((p) => p.employeeId === 'E-2')!;
    await store.completePair('w', report, ok('u2'), [], 2100);
    await store.completePair('w', pairs.find((p) => p.employeeId === 'E-1')!, ok('u1'), [], 2200);
    const backfill = await store.claimPairs('w', 2300, 60_000, 10, ['app2']);
    expect(backfill.map((p) => p.employeeId)).toEqual(['E-2']);
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
    await store.completeFetch(jobs[0]!, null, 7000, targets);
    expect((await store.employeeStatus('E-1')).record?.status).toBe('terminated');
    expect(await store.claimFetches('w', 8000, 30_000, 10)).toEqual([]);
  });
});

describe('grouped intake commits', () => {
  it('commits concurrent deliveries together, each with its own result, duplicates included', async () => {
    const store = await openStore(`sqlite:${join(mkdtempSync(join(tmpdir(), 'store-')), 'bridge.db')}`);
    try {
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
    } finally {
      await store.close();
    }
  });
});
