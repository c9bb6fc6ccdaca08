import type { Kysely } from 'kysely';
import { appendAudit, type AuditEntry } from './audit.js';
import { employeesNamed, lockEmployees } from './employee-locks.js';
import { IntakeBatch } from './intake-batch.js';
import type { Dialect } from './migrations.js';
import type { Database } from './schema.js';
import type { CommitSync } from './wal-sync.js';
import type { IntakeInput } from './store.js';

/** A grouped write; deliveries use `batch` for the statements the batch's deliveries share. */
export type Work<T> = (trx: Kysely<Database>, audit: AuditEntry[], batch: IntakeBatch) => Promise<T>;

/** What a grouped write touches that its batch must prepare for. */
export interface WriteScope {
  /** A delivery: its rows share the batch's statements. */
  intake?: IntakeInput;
  /** Employees whose records the write may change, locked with the batch's (employee-locks.ts). */
  employees?: readonly string[];
}

interface PendingWrite {
  work: Work<unknown>;
  intake: IntakeInput | undefined;
  employees: readonly string[];
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/** Enough to amortise a commit; small enough that one transaction never holds the writer for long. */
const MAX_WRITE_BATCH = 500;

const MAX_TX_ATTEMPTS = 5;

/** deadlock_detected and serialization_failure: the transaction was rolled back as a whole. */
function isRetryableConflict(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === '40P01' || code === '40001';
}

/** Called after each commit with the audit rows it held, so every row also becomes a log line. */
export type AuditListener = (entries: readonly AuditEntry[]) => void;

/**
 * The store's transactions: each appends its audit rows to the chain before it commits, retries when
 * PostgreSQL aborts it for a deadlock, and reports its audit rows once committed.
 */
export class Transactions {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: Dialect,
    private readonly onAudit: AuditListener,
    private readonly sync?: CommitSync,
  ) {}

  /**
   * Resolves once everything committed so far is durable (the WAL sync on SQLite, ADR 9). Once a sync
   * has failed, `check()` refuses every later write before it commits.
   */
  private durable(): Promise<void> {
    return this.sync?.sync() ?? Promise.resolve();
  }

  /** Settles once every write queued so far has been answered. */
  async idle(): Promise<void> {
    await this.flushing;
    await this.syncing;
  }

  async tx<T>(work: (trx: Kysely<Database>, audit: AuditEntry[]) => Promise<T>): Promise<T> {
    this.sync?.check();
    const { value, audit } = await this.commit(work);
    await this.durable();
    if (audit.length) this.onAudit(audit);
    return value;
  }

  /** Runs `work` in a transaction with its audit rows and commits it; durable only after `durable()`. */
  private async commit<T>(work: (trx: Kysely<Database>, audit: AuditEntry[]) => Promise<T>): Promise<{ value: T; audit: AuditEntry[] }> {
    for (let attempt = 1; ; attempt += 1) {
      const audit: AuditEntry[] = [];
      try {
        const value = await this.db.transaction().execute(async (trx) => {
          const result = await work(trx, audit);
          await appendAudit(trx, this.dialect, audit);
          return result;
        });
        return { value, audit };
      } catch (error) {
        // Replicas that touch the same employees in a different order can deadlock; PostgreSQL aborts
        // one of them, which has then changed nothing and can simply run again.
        if (attempt >= MAX_TX_ATTEMPTS || !isRetryableConflict(error)) throw error;
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 20 * attempt));
      }
    }
  }

  private readonly writeQueue: PendingWrite[] = [];
  private writing = false;
  /** The running flush of the write queue; settles, never rejects. */
  private flushing: Promise<void> = Promise.resolve();
  /** The sync that will answer the last batch committed; settles, never rejects. */
  private syncing: Promise<void> = Promise.resolve();

  /**
   * A write transaction that shares its commit with the others queued in the same turn of the event
   * loop: the webhook route and the worker together pay one commit per turn instead of one per delivery
   * and per pair. On SQLite that is one WAL write and sync; on PostgreSQL, one transaction's round trips,
   * audit-chain lock and commit (ADR 10).
   */
  grouped<T>(work: Work<T>, scope: WriteScope = {}): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.writeQueue.push({ work, intake: scope.intake, employees: scope.employees ?? [], resolve: resolve as (value: unknown) => void, reject });
      if (this.writing) return;
      this.writing = true;
      // Wait until the requests already read in this turn of the loop have queued their writes.
      this.flushing = new Promise<void>((done) => setImmediate(() => void this.flushWrites().finally(done)));
    });
  }

  private async flushWrites(): Promise<void> {
    try {
      while (this.writeQueue.length > 0) {
        // Writes that arrive while a sync runs wait for it and then commit together: one commit and one
        // sync for all of them, and the event loop stays free to read more meanwhile.
        await this.syncing;
        const batch = this.writeQueue.splice(0, MAX_WRITE_BATCH);
        try {
          this.sync?.check();
        } catch (error) {
          batch.forEach((item) => item.reject(error));
          continue;
        }
        try {
          const { value: results, audit } = await this.commit((trx, audit) => this.runTogether(trx, audit, batch));
          this.syncing = this.durable()
            .then(
              () => {
                batch.forEach((item, i) => item.resolve(results[i]));
                if (audit.length) this.onAudit(audit);
              },
              (error: unknown) => batch.forEach((item) => item.reject(error)),
            )
            .catch(() => undefined);
        } catch (error) {
          if (batch.length === 1) {
            batch[0]!.reject(error);
            continue;
          }
          // One failing write must not fail its neighbours: commit each on its own.
          for (const item of batch) {
            await this.tx(async (trx, audit) => (await this.runTogether(trx, audit, [item]))[0]).then(item.resolve, item.reject);
          }
        }
      }
    } finally {
      this.writing = false;
    }
  }

  /** The writes of one batch in one transaction: their employees locked first, their shared statements last. */
  private async runTogether(trx: Kysely<Database>, audit: AuditEntry[], items: readonly PendingWrite[]): Promise<unknown[]> {
    const intakes = items.flatMap((item) => (item.intake ? [item.intake] : []));
    const employees = employeesNamed(intakes);
    for (const item of items) item.employees.forEach((id) => employees.add(id));
    await lockEmployees(trx, this.dialect, employees);
    const shared = new IntakeBatch(trx, this.dialect, intakes);
    const out: unknown[] = [];
    for (const item of items) out.push(await item.work(trx, audit, shared));
    await shared.finish();
    return out;
  }
}
