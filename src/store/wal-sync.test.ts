import { mkdtempSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { AuditEntry } from './audit.js';
import { openDatabase } from './database.js';
import { KyselyStore } from './kysely-store.js';
import type { IntakeInput } from './store.js';
import { WalSync, type CommitSync } from './wal-sync.js';

const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'wal-sync-'));
  dirs.push(dir);
  return dir;
};
afterEach(() => {
  vi.restoreAllMocks();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const delivery = (id: string): IntakeInput => ({
  source: 'hr',
  deliveryId: id,
  eventType: 'employee.upserted',
  receivedAt: 1000,
  correlationId: `c-${id}`,
  intake: { kind: 'records', records: [{ id: `E-${id}`, status: 'active', version: 1, givenName: 'Ada' }] },
  targets: ['app'],
});

/** A sync whose completion the test decides, one pending promise per call. */
class HeldSync implements CommitSync {
  readonly calls: Array<{ release: () => void; fail: (error: Error) => void }> = [];
  private failure: Error | undefined;
  readonly sync = () =>
    new Promise<void>((release, fail) => {
      this.calls.push({
        release,
        fail: (error) => {
          this.failure = error;
          fail(error);
        },
      });
    });
  check(): void {
    if (this.failure) throw this.failure;
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

const settled = async (p: Promise<unknown>) => {
  let done = false;
  void p.then(
    () => (done = true),
    () => (done = true),
  );
  await new Promise((r) => setTimeout(r, 20));
  return done;
};

describe('SQLite durability', () => {
  it('runs a file database in WAL with synchronous=NORMAL and its own WAL sync', async () => {
    const opened = await openDatabase(`sqlite:${join(tempDir(), 'b.db')}`);
    try {
      expect(opened.wal).toBeInstanceOf(WalSync);
      const { rows } = await sql<{ synchronous: number }>`pragma synchronous`.execute(opened.db);
      expect(rows[0]?.synchronous).toBe(1);
    } finally {
      await opened.wal?.close();
      await opened.db.destroy();
    }
  });

  it('keeps synchronous=FULL where there is no WAL', async () => {
    const opened = await openDatabase('sqlite::memory:');
    try {
      expect(opened.wal).toBeUndefined();
      const { rows } = await sql<{ synchronous: number }>`pragma synchronous`.execute(opened.db);
      expect(rows[0]?.synchronous).toBe(2);
    } finally {
      await opened.db.destroy();
    }
  });

  it('answers a delivery only once the sync after its commit is done; later writes commit together after it', async () => {
    const { db, dialect, wal } = await openDatabase(`sqlite:${join(tempDir(), 'b.db')}`);
    await wal?.close();
    const held = new HeldSync();
    const logged: AuditEntry[] = [];
    const store = new KyselyStore(db, dialect, (e) => logged.push(...e), held);
    try {
      const first = store.intake(delivery('d1'));
      await vi.waitFor(() => expect(held.calls).toHaveLength(1));
      const committed = await db.selectFrom('deliveries').select('delivery_id').execute();
      expect(committed.map((r) => r.delivery_id)).toEqual(['d1']);
      expect(await settled(first)).toBe(false);
      expect(logged).toEqual([]);

      // Deliveries that arrive during the sync wait for it, then share one commit and one sync.
      const second = store.intake(delivery('d2'));
      const third = store.intake(delivery('d3'));
      expect(await settled(second)).toBe(false);
      expect((await db.selectFrom('deliveries').select('delivery_id').execute()).map((r) => r.delivery_id)).toEqual(['d1']);

      held.calls[0]!.release();
      expect(await first).toMatchObject({ duplicate: false, applied: 1 });
      expect(logged.map((e) => e.action)).toEqual(['delivery.received', 'record.updated']);
      await vi.waitFor(() => expect(held.calls).toHaveLength(2));
      expect((await db.selectFrom('deliveries').select('delivery_id').orderBy('delivery_id').execute()).map((r) => r.delivery_id)).toEqual(['d1', 'd2', 'd3']);
      expect(await settled(second)).toBe(false);

      held.calls[1]!.fail(new Error('EIO'));
      await expect(second).rejects.toThrow('EIO');
      await expect(third).rejects.toThrow('EIO');
      expect(logged).toHaveLength(2);
      expect(held.calls).toHaveLength(2);

      // Once a sync has failed nothing more is committed, so nothing can become durable unanswered.
      await expect(store.intake(delivery('d4'))).rejects.toThrow('EIO');
      await expect(store.ping()).rejects.toThrow('EIO');
      expect((await db.selectFrom('deliveries').select('delivery_id').orderBy('delivery_id').execute()).map((r) => r.delivery_id)).toEqual(['d1', 'd2', 'd3']);
      expect(held.calls).toHaveLength(2);
    } finally {
      await store.close();
    }
  });

  it('shares one sync among the calls made while another runs', async () => {
    const dir = tempDir();
    const file = join(dir, 'x-wal');
    await (await open(file, 'w')).close();
    const wal = new WalSync(file);
    await wal.sync();
    const handle = await open(file, 'r');
    const datasync = vi.spyOn(Object.getPrototypeOf(handle) as { datasync: () => Promise<void> }, 'datasync');
    await handle.close();
    try {
      await Promise.all(Array.from({ length: 20 }, () => wal.sync()));
      // The first call starts a sync; the nineteen made while it runs share the one queued behind it.
      expect(datasync).toHaveBeenCalledTimes(2);
      await wal.sync();
      expect(datasync).toHaveBeenCalledTimes(3);
    } finally {
      await wal.close();
    }
  });

  it('refuses every later write once a sync has failed', async () => {
    const wal = new WalSync(join(tempDir(), 'missing', 'b.db-wal'));
    await expect(wal.sync()).rejects.toThrow('the write-ahead log could not be synced to disk; restart the service');
    await expect(wal.sync()).rejects.toThrow('could not be synced');
    expect(() => wal.check()).toThrow('could not be synced');
    await wal.close();
  });
});
