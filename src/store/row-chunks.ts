import type { Dialect } from './migrations.js';

/** PostgreSQL: well under its 65,535 bound parameters for the widest table. */
const POSTGRES_ROWS = 500;
/** SQLite: the largest piece; 256 rows of the widest table stay under its 32,766 bound parameters. */
const SQLITE_LARGEST = 256;

/**
 * Splits the rows of a multi-row statement into the statements that carry them.
 *
 * SQLite keeps each distinct SQL text prepared (sqlite-statements.ts), and a prepared statement holds
 * about 100 bytes of native memory per bound parameter. Batches of every size from 1 to 500
 * once kept 100 MB of such statements alive. There the pieces are powers of two, so a statement has at
 * most nine shapes. PostgreSQL prepares nothing across queries, and round trips cost more there.
 */
export function rowChunks<T>(rows: readonly T[], dialect: Dialect): T[][] {
  const out: T[][] = [];
  if (dialect === 'postgres') {
    for (let i = 0; i < rows.length; i += POSTGRES_ROWS) out.push(rows.slice(i, i + POSTGRES_ROWS));
    return out;
  }
  let i = 0;
  while (i < rows.length) {
    let size = SQLITE_LARGEST;
    while (size > rows.length - i) size >>= 1;
    out.push(rows.slice(i, i + size));
    i += size;
  }
  return out;
}
