import type { Database as SqliteDatabase, Statement } from 'better-sqlite3';
import type { SqliteDatabase as KyselySqliteDatabase } from 'kysely';

/** Distinct SQL texts kept prepared; the hot paths use a few dozen, batch inserts add a few more. */
const MAX_STATEMENTS = 512;

/**
 * Kysely prepares every query anew; on the webhook path preparing cost as much as running. The same
 * SQL text is prepared once here and reused (better-sqlite3 statements are reusable, and queries on one
 * connection never interleave).
 */
export function withStatementCache(db: SqliteDatabase): KyselySqliteDatabase {
  const cache = new Map<string, Statement>();
  return {
    close: () => {
      cache.clear();
      db.close();
    },
    prepare: (sql: string) => {
      let statement = cache.get(sql);
      if (statement) {
        // Refresh its place so the least recently used statement is the one dropped.
        cache.delete(sql);
      } else {
        statement = db.prepare(sql);
        if (cache.size >= MAX_STATEMENTS) cache.delete(cache.keys().next().value!);
      }
      cache.set(sql, statement);
      return statement as unknown as ReturnType<KyselySqliteDatabase['prepare']>;
    },
  };
}
