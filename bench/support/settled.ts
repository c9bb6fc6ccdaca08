import Database from 'better-sqlite3';
import pg from 'pg';

export interface PairCounts {
  settled: number;
  dirty: number;
}

/** Counts converged and waiting pairs straight from the store, without asking the service. */
export function pairCounter(store: { sqliteFile: string } | { postgresUrl: string }): { counts(): Promise<PairCounts>; close(): Promise<void> } {
  const query = `select sum(case when dirty = 0 and scim_id is not null then 1 else 0 end) as settled, sum(dirty) as dirty from pairs`;
  if ('sqliteFile' in store) {
    return {
      counts: async () => {
        const db = new Database(store.sqliteFile, { readonly: true, fileMustExist: true });
        try {
          const row = db.prepare(query).get() as { settled: number | null; dirty: number | null };
          return { settled: row.settled ?? 0, dirty: row.dirty ?? 0 };
        } finally {
          db.close();
        }
      },
      close: () => Promise.resolve(),
    };
  }
  const pool = new pg.Pool({ connectionString: store.postgresUrl, max: 1 });
  pool.on('error', () => undefined);
  return {
    counts: async () => {
      const { rows } = await pool.query<{ settled: string | null; dirty: string | null }>(query);
      return { settled: Number(rows[0]?.settled ?? 0), dirty: Number(rows[0]?.dirty ?? 0) };
    },
    close: () => pool.end(),
  };
}

export async function untilSettled(counter: { counts(): Promise<PairCounts> }, users: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { settled, dirty } = await counter.counts();
    if (settled >= users && dirty === 0) return;
    if (Date.now() > deadline) throw new Error(`not settled: ${settled}/${users} accounts, ${dirty} dirty`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
