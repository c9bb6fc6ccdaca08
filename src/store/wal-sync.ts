import { open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';

/** Makes what has been committed durable; on PostgreSQL the commit already is. */
export type Durability = () => Promise<void>;

/** What the store needs of a sync: WalSync, or a stand-in where a test controls when commits become durable. */
export interface CommitSync {
  readonly sync: Durability;
  /** Throws once durability can no longer be promised. */
  check(): void;
  close(): Promise<void>;
}

/**
 * The fsync of SQLite's write-ahead log, off the event loop (ADR 9).
 *
 * SQLite runs with `synchronous=NORMAL`: a commit writes its frames to the WAL without syncing it, so
 * the commit no longer blocks the event loop for the length of an fsync. A write is durable once the
 * WAL has been synced after its commit; this does that on libuv's thread pool, and the store answers no
 * write before it. Calls made while a sync runs share the one queued behind it, since the running sync
 * may have started before their commits.
 *
 * A sync that fails leaves unknown which commits reached the disk, and a later sync that succeeds would
 * not say otherwise; every later call fails too, so the service refuses writes until it is restarted
 * and SQLite recovers from what the disk holds.
 */
export class WalSync implements CommitSync {
  private file: Promise<FileHandle> | undefined;
  private running: Promise<void> | undefined;
  private queued: Promise<void> | undefined;
  private failure: Error | undefined;

  constructor(private readonly walPath: string) {}

  readonly sync: Durability = () => {
    if (this.failure) return Promise.reject(this.failure);
    if (!this.running) return this.start();
    this.queued ??= this.running.then(
      () => {
        this.queued = undefined;
        return this.start();
      },
      (error: unknown) => {
        this.queued = undefined;
        throw error;
      },
    );
    return this.queued;
  };

  /** Rejects once a sync has failed, so readiness reports the store down. */
  check(): void {
    if (this.failure) throw this.failure;
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.running, this.queued]);
    const file = this.file;
    this.file = undefined;
    // A log that never opened has nothing to close.
    await file?.then((handle) => handle.close(), () => undefined);
  }

  private start(): Promise<void> {
    const run = (async () => {
      try {
        this.file ??= this.openLog();
        await (await this.file).datasync();
      } catch (error) {
        this.failure ??= new Error('the write-ahead log could not be synced to disk; restart the service', { cause: error });
        throw this.failure;
      } finally {
        this.running = undefined;
      }
    })();
    this.running = run;
    return run;
  }

  /**
   * The WAL exists once the database has been opened in WAL mode. It is opened for writing although
   * nothing is written through it: Windows flushes only handles with write access. Its directory entry
   * is synced once, as SQLite's Unix VFS does for a new journal (Windows has no directory handles to sync).
   */
  private async openLog(): Promise<FileHandle> {
    const file = await open(this.walPath, 'r+');
    if (process.platform === 'win32') return file;
    try {
      const dir = await open(dirname(this.walPath), 'r');
      try {
        await dir.sync();
      } finally {
        await dir.close();
      }
    } catch (error) {
      await file.close();
      throw error;
    }
    return file;
  }
}
