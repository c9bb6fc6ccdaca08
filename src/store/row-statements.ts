import { CompiledQuery, type Compilable, type Kysely } from 'kysely';
import type { Dialect } from './migrations.js';
import { rowChunks } from './row-chunks.js';
import type { Database } from './schema.js';

/**
 * A statement over a number of rows, compiled once: its SQL text, the row fields in the order their
 * values are bound, and the parameters bound after the rows (constants of the statement).
 */
interface Shape {
  sql: string;
  /** Object rows: the fields bound for each row. Null: each row is a single value (an IN list). */
  fields: readonly string[] | null;
  tail: readonly unknown[];
}

/** Bounds the cache: SQLite pieces come in nine sizes (row-chunks.ts), PostgreSQL's in any size up to 500. */
const MAX_SHAPES = 256;
/** Cache key -> its shape, or null when the statement's parameters do not follow its rows (always built). */
const shapes = new Map<string, Shape | null>();

type Row = string | number | object;

/**
 * Builds a multi-row statement with Kysely once per number of rows and reuses its SQL text after
 * that, binding the new rows' values in the same order. Building and compiling a statement of tens of
 * rows cost more than running it on SQLite, for every batch of deliveries (docs/adr/0011).
 *
 * `build` must depend on its rows only through the values it binds for them, and bind them before
 * anything else (`insertInto().values(rows)`, `where(col, 'in', rows)`); every other parameter must be
 * a constant of the statement. The first build of a shape checks that its parameters begin with the
 * rows' values; a statement that does not is built anew every time.
 */
export function compileForRows<R extends Row, O>(db: Kysely<Database>, dialect: Dialect, name: string, rows: readonly R[], build: (db: Kysely<Database>, rows: readonly R[]) => Compilable<O>): CompiledQuery<O> {
  const key = `${dialect}\u0000${name}\u0000${rows.length}`;
  const shape = shapes.get(key);
  if (shape) {
    // Refresh its place, so the shapes dropped at the bound are the least recently used.
    shapes.delete(key);
    shapes.set(key, shape);
    const parameters = bind(shape.fields, rows);
    if (parameters) {
      for (const value of shape.tail) parameters.push(value);
      return CompiledQuery.raw(shape.sql, parameters) as CompiledQuery<O>;
    }
  }
  const compiled = build(db, rows).compile();
  if (shape === undefined) remember(key, compiled, rows);
  return compiled;
}

/** Runs the statement over all rows in rowChunks' pieces and returns what they return, in order. */
export async function executeForRows<R extends Row, O>(db: Kysely<Database>, dialect: Dialect, name: string, rows: readonly R[], build: (db: Kysely<Database>, rows: readonly R[]) => Compilable<O>): Promise<O[]> {
  const out: O[] = [];
  for (const part of rowChunks(rows, dialect)) {
    const result = await db.executeQuery(compileForRows(db, dialect, name, part, build));
    for (const row of result.rows) out.push(row);
  }
  return out;
}

function remember(key: string, compiled: CompiledQuery, rows: readonly Row[]): void {
  const first = rows[0];
  const fields = first !== undefined && typeof first === 'object' ? Object.keys(first) : null;
  const bound = bind(fields, rows);
  const follows = bound !== null && bound.length <= compiled.parameters.length && bound.every((value, i) => Object.is(value, compiled.parameters[i]));
  if (shapes.size >= MAX_SHAPES) shapes.delete(shapes.keys().next().value!);
  shapes.set(key, follows ? { sql: compiled.sql, fields, tail: compiled.parameters.slice(bound.length) } : null);
}

/**
 * The rows' values in binding order, or null when a row cannot take the compiled text: a missing or
 * extra field (Kysely would add a column or bind DEFAULT), a value Kysely writes as SQL rather than
 * binding it (an expression), or a row of another kind.
 */
function bind(fields: readonly string[] | null, rows: readonly Row[]): unknown[] | null {
  const out: unknown[] = [];
  for (const row of rows) {
    if (fields === null) {
      if (typeof row === 'object' || isExpression(row)) return null;
      out.push(row);
      continue;
    }
    if (typeof row !== 'object' || Object.keys(row).length !== fields.length) return null;
    for (const field of fields) {
      const value = (row as Record<string, unknown>)[field];
      if (value === undefined || isExpression(value)) return null;
      out.push(value);
    }
  }
  return out;
}

/** What Kysely compiles into the statement instead of binding: an expression or an expression factory. */
function isExpression(value: unknown): boolean {
  return typeof value === 'function' || (typeof value === 'object' && value !== null && typeof (value as { toOperationNode?: unknown }).toOperationNode === 'function');
}
