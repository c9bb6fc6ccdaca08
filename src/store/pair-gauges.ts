import { sql, type Kysely } from 'kysely';
import type { Database } from './schema.js';

/**
 * A literal, not a parameter: a plan made for any value cannot use the partial index pairs_failed.
 * node-postgres gets a plan per value today, but a pooler that prepares statements would not.
 */
export const FAILED = sql.lit('failed');

/**
 * The dirty pairs of each target, for the gauges every 5 s. On SQLite, which runs it on the event loop,
 * it reads the index pairs_dirty_by_target alone: a first load can leave tens of thousands dirty.
 */
export function dirtyByTargetQuery(db: Kysely<Database>) {
  return db
    .selectFrom('pairs')
    .select(['target', (eb) => eb.fn.countAll<number>().as('n')])
    .where('dirty', '=', 1)
    .groupBy('target');
}

/** When the longest-waiting dirty pair became dirty: the first entry of pairs_dirty_since. */
export function oldestDirtyQuery(db: Kysely<Database>) {
  return db
    .selectFrom('pairs')
    .select('dirty_since')
    .where('dirty', '=', 1)
    .where('dirty_since', 'is not', null)
    .orderBy('dirty', 'asc')
    .orderBy('dirty_since', 'asc')
    .limit(1);
}

/** Failed pairs per target, read through the partial index pairs_failed (failed pairs only). */
export function failedByTargetQuery(db: Kysely<Database>) {
  return db
    .selectFrom('pairs')
    .select(['target', (eb) => eb.fn.countAll<number>().as('n')])
    .where('status', '=', FAILED)
    .groupBy('target');
}
