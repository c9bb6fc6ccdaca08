import { sql, type Kysely } from 'kysely';
import type { Migration, MigrationProvider } from 'kysely/migration';

/**
 * Migrations live in code so the single bundle carries them. Column types are the subset SQLite
 * and PostgreSQL agree on; times are bigint milliseconds.
 */
export type Dialect = 'sqlite' | 'postgres';

function migrations(dialect: Dialect): Record<string, Migration> {
  return {
  '0001_initial': {
    async up(db: Kysely<unknown>) {
      const isPg = dialect === 'postgres';
      const autoId = isPg ? sql`bigserial primary key` : sql`integer primary key autoincrement`;
      await db.schema
        .createTable('deliveries')
        .addColumn('id', autoId as never)
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('delivery_id', 'text')
        .addColumn('received_at', 'bigint', (c) => c.notNull())
        .addColumn('event_type', 'text')
        .addColumn('outcome', 'text', (c) => c.notNull())
        .addColumn('error', 'text')
        .addColumn('body', 'text')
        .addColumn('correlation_id', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('deliveries_source_delivery_id')
        .on('deliveries')
        .columns(['source', 'delivery_id'])
        .unique()
        .where(sql.ref('delivery_id'), 'is not', null)
        .execute();

      await db.schema
        .createTable('employees')
        .addColumn('employee_id', 'text', (c) => c.primaryKey())
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('record', 'text', (c) => c.notNull())
        .addColumn('version', 'bigint')
        .addColumn('source_ts', 'bigint')
        .addColumn('manager_id', 'text')
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('employees_manager').on('employees').column('manager_id').execute();

      await db.schema
        .createTable('fetches')
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('employee_id', 'text', (c) => c.notNull())
        .addColumn('requested_at', 'bigint', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('next_attempt_at', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('lease_until', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('last_error', 'text')
        .addColumn('correlation_id', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('fetches_pk', ['source', 'employee_id'])
        .execute();

      await db.schema
        .createTable('pairs')
        .addColumn('target', 'text', (c) => c.notNull())
        .addColumn('employee_id', 'text', (c) => c.notNull())
        .addColumn('dirty', 'integer', (c) => c.notNull().defaultTo(1))
        .addColumn('generation', 'bigint', (c) => c.notNull().defaultTo(1))
        .addColumn('dirty_since', 'bigint')
        .addColumn('next_attempt_at', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('lease_owner', 'text')
        .addColumn('lease_until', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('next_check_at', 'bigint')
        .addColumn('scim_id', 'text')
        .addColumn('applied_hash', 'text')
        .addColumn('applied_user', 'text')
        .addColumn('applied_groups', 'text')
        .addColumn('state', 'text', (c) => c.notNull().defaultTo('none'))
        .addColumn('status', 'text', (c) => c.notNull().defaultTo('pending'))
        .addColumn('last_error', 'text')
        .addColumn('inactive_since', 'bigint')
        .addColumn('correlation_id', 'text')
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('pairs_pk', ['target', 'employee_id'])
        .execute();
      await db.schema.createIndex('pairs_dirty').on('pairs').columns(['dirty', 'next_attempt_at']).execute();
      await db.schema.createIndex('pairs_next_check').on('pairs').column('next_check_at').execute();

      await db.schema
        .createTable('groups')
        .addColumn('target', 'text', (c) => c.notNull())
        .addColumn('display_name', 'text', (c) => c.notNull())
        .addColumn('scim_id', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('groups_pk', ['target', 'display_name'])
        .execute();

      await db.schema
        .createTable('targets')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('paused_reason', 'text')
        .addColumn('paused_at', 'bigint')
        .addColumn('paused_fingerprint', 'text')
        .execute();

      await db.schema
        .createTable('audit')
        .addColumn('seq', autoId as never)
        .addColumn('at', 'bigint', (c) => c.notNull())
        .addColumn('correlation_id', 'text', (c) => c.notNull())
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('outcome', 'text', (c) => c.notNull())
        .addColumn('source', 'text')
        .addColumn('target', 'text')
        .addColumn('employee_id', 'text')
        .addColumn('details', 'text', (c) => c.notNull())
        .addColumn('prev_hash', 'text', (c) => c.notNull())
        .addColumn('hash', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('audit_employee').on('audit').column('employee_id').execute();
    },
  },
  '0002_intended_groups': {
    // Groups a sync set out to join, written before the request: if its answer is lost (timeout,
    // crash), the next sync still knows to take the member out again when it moves or leaves.
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('pairs').addColumn('intended_groups', 'text').execute();
    },
  },
  '0003_pairs_dirty_since': {
    // Claims read the oldest dirty pairs in order; without this index every claim sorted all of them
    // (4 ms per claim with 10,000 dirty pairs, paid on every free worker slot during a load).
    // It replaces (dirty, next_attempt_at), which planners preferred and then sorted by.
    async up(db: Kysely<unknown>) {
      await db.schema.dropIndex('pairs_dirty').execute();
      await db.schema.createIndex('pairs_dirty_since').on('pairs').columns(['dirty', 'dirty_since']).execute();
    },
  },
  '0004_pairs_failed': {
    // The failed-pairs gauge (every 5 s) and the admin list of failed pairs read every pair without it:
    // 68 ms with 300,000 pairs on SQLite, where it stops the event loop. With it they read the failed
    // pairs only. Partial, so only failed pairs have entries, and keyed on `target` alone: a key of
    // `updated_at`, which nearly every update of a pair sets, would stop PostgreSQL from updating any
    // pair in place (HOT). The queries name the status as a literal, which any plan can match to the
    // index's condition.
    async up(db: Kysely<unknown>) {
      await db.schema.createIndex('pairs_failed').on('pairs').column('target').where(sql.ref('status'), '=', sql.lit('failed')).execute();
    },
  },
  '0005_pairs_due': {
    // Claims look for due checks (clean pairs whose next_check_at has come) on every worker round. With
    // next_check_at alone indexed, SQLite, which keeps no statistics here, matched `dirty = 0` on
    // pairs_dirty_since instead and then sorted every clean pair: 0.5 ms per round with 8,000 synced
    // pairs, 1 ms during a load of 10,000, growing with every account. Keyed on both, the claim reads
    // only the pairs that are due, in order, whatever the planner knows.
    async up(db: Kysely<unknown>) {
      // SQLite runs migrations outside a transaction: a start interrupted half-way must be able to run it again.
      await db.schema.dropIndex('pairs_next_check').ifExists().execute();
      await db.schema.createIndex('pairs_due').ifNotExists().on('pairs').columns(['dirty', 'next_check_at']).execute();
    },
  },
  '0006_fetches_due': {
    // Fetch claims read the oldest requests first on every worker round; a source that sends only ids
    // queues a fetch per employee, and without this index each round sorted all of them (0.5 ms with
    // 10,000 queued on SQLite). Keyed on requested_at alone: leasing a fetch and recording a failed
    // attempt change other columns, which PostgreSQL can still update in place; only a new request for
    // a queued employee moves its entry.
    async up(db: Kysely<unknown>) {
      await db.schema.createIndex('fetches_due').ifNotExists().on('fetches').column('requested_at').execute();
    },
  },
  '0007_pairs_dirty_by_target': {
    // The dirty-pairs gauge (every 5 s) counts the dirty pairs of each target. Through pairs_dirty_since
    // it read every dirty pair's row for its target: 11 ms with 50,000 dirty pairs on SQLite, where that
    // stops the event loop, and a large first load leaves that many. With this index the count reads
    // the index alone. PostgreSQL runs the gauge off the service's event loop, and there the index would
    // cost every pair that turns dirty or clean one more entry; it gets none.
    async up(db: Kysely<unknown>) {
      if (dialect !== 'sqlite') return;
      await db.schema.createIndex('pairs_dirty_by_target').ifNotExists().on('pairs').columns(['dirty', 'target']).execute();
    },
  },
  };
}

export function migrationProvider(dialect: Dialect): MigrationProvider {
  return { getMigrations: () => Promise.resolve(migrations(dialect)) };
}
