import { DummyDriver, Kysely, PostgresAdapter, PostgresIntrospector, PostgresQueryCompiler, SqliteAdapter, SqliteIntrospector, SqliteQueryCompiler, sql, type Compilable } from 'kysely';
import { describe, expect, it } from 'vitest';
import type { Dialect } from './migrations.js';
import { compileForRows } from './row-statements.js';
import type { Database, PairsTable } from './schema.js';

// Compilers only: nothing runs, so the texts and parameters can be compared with Kysely's own.
const compilers: Record<Dialect, Kysely<Database>> = {
  sqlite: new Kysely<Database>({
    dialect: { createAdapter: () => new SqliteAdapter(), createDriver: () => new DummyDriver(), createIntrospector: (db) => new SqliteIntrospector(db), createQueryCompiler: () => new SqliteQueryCompiler() },
  }),
  postgres: new Kysely<Database>({
    dialect: { createAdapter: () => new PostgresAdapter(), createDriver: () => new DummyDriver(), createIntrospector: (db) => new PostgresIntrospector(db), createQueryCompiler: () => new PostgresQueryCompiler() },
  }),
};

type PairRow = Omit<PairsTable, 'scim_id' | 'applied_hash' | 'applied_user' | 'applied_groups' | 'intended_groups' | 'lease_owner' | 'next_check_at' | 'inactive_since'>;

const pair = (i: number, salt: string): PairRow => ({
  target: `t${i % 3}`,
  employee_id: `E-${salt}-${i}`,
  dirty: 1,
  generation: 1,
  dirty_since: i * 7,
  next_attempt_at: 0,
  attempts: i,
  lease_until: 0,
  state: 'none',
  status: 'pending',
  last_error: i % 2 ? null : `e${i}`,
  correlation_id: `c-${salt}-${i}`,
  updated_at: 1000 + i,
});
const pairs = (n: number, salt: string) => Array.from({ length: n }, (_, i) => pair(i, salt));

// The kinds of statement the store runs this way: an upsert with constants, expressions and excluded
// references after its rows, an insert returning rows, an IN list, and a statement without rows.
const upsert = (db: Kysely<Database>, rows: readonly PairRow[]) =>
  db
    .insertInto('pairs')
    .values(rows)
    .onConflict((oc) =>
      oc.columns(['target', 'employee_id']).doUpdateSet((eb) => ({
        dirty: 1,
        generation: sql`pairs.generation + 1`,
        dirty_since: sql`coalesce(pairs.dirty_since, ${eb.ref('excluded.dirty_since')})`,
        status: 'pending',
        correlation_id: eb.ref('excluded.correlation_id'),
      })),
    )
    .returning(['target', 'employee_id']);
const inList = (db: Kysely<Database>, ids: readonly string[]) => db.selectFrom('employees').select(['employee_id', 'record']).where('employee_id', 'in', ids).orderBy('employee_id').limit(500);
const last = (db: Kysely<Database>) => db.selectFrom('audit').select('hash').orderBy('seq', 'desc').limit(1);

function expectSameAsKysely<R extends object | string>(dialect: Dialect, name: string, rows: readonly R[], build: (db: Kysely<Database>, rows: readonly R[]) => Compilable<unknown>) {
  const db = compilers[dialect];
  const reused = compileForRows(db, dialect, name, rows, build);
  const direct = build(db, rows).compile();
  expect(reused.sql).toBe(direct.sql);
  expect(reused.parameters).toEqual(direct.parameters);
}

describe.each(['sqlite', 'postgres'] as const)('statements reused for their number of rows (%s)', (dialect) => {
  it('binds new rows into the text compiled for the first rows of that number', () => {
    for (const n of [1, 2, 5, 5, 16, 1]) expectSameAsKysely(dialect, 'upsert', pairs(n, `s${n}-${Math.random()}`), upsert);
  });

  it('binds an IN list and a statement without rows', () => {
    for (const n of [3, 3, 7]) expectSameAsKysely(dialect, 'in-list', pairs(n, `x${Math.random()}`).map((p) => p.employee_id), inList);
    for (let i = 0; i < 2; i += 1) expectSameAsKysely(dialect, 'last', [], last);
  });

  it('reuses the compiled text: the second statement of a size does not build', () => {
    let builds = 0;
    const counted = (db: Kysely<Database>, rows: readonly PairRow[]) => {
      builds += 1;
      return upsert(db, rows);
    };
    compileForRows(compilers[dialect], dialect, 'counted', pairs(4, 'a'), counted);
    const second = compileForRows(compilers[dialect], dialect, 'counted', pairs(4, 'b'), counted);
    expect(builds).toBe(1);
    expect(second.parameters).toContain('E-b-3');
  });

  it('answers as Kysely does for rows that lack a field, carry another, hold an expression or list their fields in another order', () => {
    expectSameAsKysely(dialect, 'odd', pairs(3, 'a'), upsert);
    const missing = pairs(3, 'b').map((p, i) => (i === 1 ? { ...p, last_error: undefined as unknown as null } : p));
    expectSameAsKysely(dialect, 'odd', missing, upsert);
    const extra = pairs(3, 'c').map((p, i) => (i === 2 ? { ...p, scim_id: 'u-1' } : p));
    expectSameAsKysely(dialect, 'odd', extra, upsert);
    const expression = pairs(3, 'd').map((p, i) => (i === 0 ? { ...p, last_error: sql<string>`'computed'` as unknown as string } : p));
    expectSameAsKysely(dialect, 'odd', expression, upsert);
    const reordered = pairs(3, 'e').map((p, i) => (i === 1 ? (Object.fromEntries(Object.entries(p).reverse()) as PairRow) : p));
    expectSameAsKysely(dialect, 'odd', reordered, upsert);
  });

  it('does not reuse a statement whose first parameters are not its rows', () => {
    let builds = 0;
    const constantFirst = (db: Kysely<Database>, ids: readonly string[]) => {
      builds += 1;
      return db.selectFrom('employees').select('record').where('source', '=', 'hr').where('employee_id', 'in', ids);
    };
    expectSameAsKysely(dialect, 'constant-first', ['a', 'b'], constantFirst);
    expectSameAsKysely(dialect, 'constant-first', ['c', 'd'], constantFirst);
    expect(builds).toBe(4);
  });
});
