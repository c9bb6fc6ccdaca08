import { openDatabase } from './database.js';
import { KyselyStore } from './kysely-store.js';
import type { AuditListener } from './transactions.js';
import type { Store } from './store.js';

export type * from './store.js';

export async function openStore(url: string, onAudit?: AuditListener, baseDir?: string): Promise<Store> {
  const { db, dialect, wal } = await openDatabase(url, baseDir);
  return new KyselyStore(db, dialect, onAudit, wal);
}
