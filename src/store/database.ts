import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect, sql } from 'kysely';
import { Migrator } from 'kysely/migration';
import pg from 'pg';
import { migrationProvider, type Dialect } from './migrations.js';
import { withStatementCache } from './sqlite-statements.js';
import type { Database } from './schema.js';
import { WalSync } from './wal-sync.js';

export interface OpenedDatabase {
  db: Kysely<Database>;
  dialect: Dialect;
  /** SQLite in WAL mode: the sync that makes its commits durable (ADR 9). */
  wal?: WalSync;
}

/** Held for the whole migration by the replica that runs it; the others wait, then find nothing to do. */
const MIGRATION_LOCK_KEY = 7203310;

// Times and versions are bigint columns holding milliseconds and counters, all far below 2^53; the
// rest of the store compares them as numbers, as SQLite returns them.
pg.types.setTypeParser(pg.types.builtins.INT8, (value: string) => Number(value));

/**
 * Opens the store named by `store.url`. SQLite runs in WAL, and no write is answered before the WAL is
 * synced (ADR 9): a 202 means the delivery survives a power cut, not only a process crash. PostgreSQL
 * is for several replicas on one database; the schema is the connection's current schema
 * (`?options=-c search_path=...` picks another).
 */
export async function openDatabase(url: string, baseDir = process.cwd()): Promise<OpenedDatabase> {
  if (url.startsWith('sqlite:')) {
    const file = url.slice('sqlite:'.length);
    const path = file === ':memory:' ? file : resolve(baseDir, file);
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    const sqlite = new SqliteDatabase(path);
    const journal = String(sqlite.pragma('journal_mode = WAL', { simple: true }));
    // Commits sync the WAL off the event loop (WalSync). Where WAL is not possible (an in-memory
    // database, a file system without shared memory), every commit syncs as it runs.
    const wal = journal === 'wal' ? new WalSync(`${path}-wal`) : undefined;
    sqlite.pragma(wal ? 'synchronous = NORMAL' : 'synchronous = FULL');
    sqlite.pragma('busy_timeout = 5000');
    sqlite.pragma('foreign_keys = ON');
    const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(sqlite) }) });
    try {
      await migrate(db, 'sqlite');
      await wal?.sync();
    } catch (error) {
      await wal?.close();
      await db.destroy();
      throw error;
    }
    return { db, dialect: 'sqlite', ...(wal ? { wal } : {}) };
  }
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) {
    const pool = new pg.Pool({ connectionString: url, max: 10, connectionTimeoutMillis: 10_000 });
    // An idle client whose server went away emits 'error' on the pool; unhandled, that ends the process.
    pool.on('error', () => undefined);
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    try {
      await migratePostgres(db, pool);
    } catch (error) {
      await db.destroy();
      throw error;
    }
    return { db, dialect: 'postgres' };
  }
  throw new Error(`store.url ${url.split(':')[0]}: use sqlite:<path> or postgres://...`);
}

/**
 * Replicas that start together race to create the same tables. A session advisory lock on a connection
 * of its own spans Kysely's bookkeeping tables as well as the migrations, so exactly one replica runs them.
 */
async function migratePostgres(db: Kysely<Database>, pool: pg.Pool): Promise<void> {
  const lock = await pool.connect();
  try {
    await lock.query('select pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    try {
      // Kysely looks for its bookkeeping tables in any schema unless told which; with several bridges
      // in one database, each in its own schema, that would find another bridge's migrations.
      const { rows } = await sql<{ schema: string }>`select current_schema() as schema`.execute(db);
      const schema = rows[0]?.schema;
      if (!schema) throw new Error('store.url: the connection has no current schema (check search_path)');
      await migrate(db, 'postgres', schema);
    } finally {
      await lock.query('select pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
    }
  } finally {
    // Closing the session also drops the lock should the unlock above not have run.
    lock.release(true);
  }
}

export async function migrate(db: Kysely<Database>, dialect: Dialect, migrationTableSchema?: string): Promise<void> {
  const migrator = new Migrator({ db, provider: migrationProvider(dialect), ...(migrationTableSchema ? { migrationTableSchema } : {}) });
  const { error, results } = await migrator.migrateToLatest();
  const message = error instanceof Error ? error.message : String(error ?? '');
  // A rollback to an earlier image: Kysely refuses a database that holds migrations it does not know.
  const newer = /previously executed migration (\S+) is missing/.exec(message)?.[1];
  if (newer) {
    throw new Error(`the store was migrated by a newer hr-scim-bridge (migration ${newer} is not part of this version); run that version or a later one, see "Rolling back" in docs/deployment.md`);
  }
  const failed = results?.find((r) => r.status === 'Error');
  if (error || failed) {
    throw new Error(`store migration${failed ? ` ${failed.migrationName}` : 's'} failed: ${message}`, { cause: error });
  }
}
