import { hash } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import type { Dialect } from './migrations.js';
import { compileForRows, executeForRows } from './row-statements.js';
import type { AuditTable, Database } from './schema.js';

/** One piece of evidence: a delivery received, a decision taken, a SCIM request and its outcome. */
export interface AuditEntry {
  at: number;
  correlationId: string;
  action: string;
  outcome: 'success' | 'failure' | 'ignored' | 'dry-run' | 'unknown';
  source?: string | null;
  target?: string | null;
  employeeId?: string | null;
  details?: Record<string, unknown>;
}

export const GENESIS_HASH = '0'.repeat(64);

/** What a row's hash covers: everything but its sequence number and the hashes themselves. */
export type AuditRowContent = Omit<AuditTable, 'seq' | 'prev_hash' | 'hash'>;

/** Each row's hash covers its content and the previous hash: changing or removing a row breaks the chain. */
export function auditHash(prevHash: string, row: AuditRowContent): string {
  const content = JSON.stringify([
    Number(row.at),
    row.correlation_id,
    row.action,
    row.outcome,
    row.source,
    row.target,
    row.employee_id,
    row.details,
  ]);
  return hash('sha256', `${prevHash}\n${content}`);
}

/** Appends inside the caller's transaction, so evidence and the change it describes commit together. */
export async function appendAudit(trx: Kysely<Database>, dialect: Dialect, entries: readonly AuditEntry[]): Promise<void> {
  if (entries.length === 0) return;
  if (dialect === 'postgres') {
    // Replicas append to one chain: serialise appenders for the length of the transaction.
    await sql`select pg_advisory_xact_lock(7203311)`.execute(trx);
  }
  const { rows: [last] } = await trx.executeQuery(compileForRows(trx, dialect, 'audit.last', [], (db) => db.selectFrom('audit').select('hash').orderBy('seq', 'desc').limit(1)));
  let prev = last?.hash ?? GENESIS_HASH;
  const rows = entries.map((e) => {
    const content: AuditRowContent = {
      at: e.at,
      correlation_id: e.correlationId,
      action: e.action,
      outcome: e.outcome,
      source: e.source ?? null,
      target: e.target ?? null,
      employee_id: e.employeeId ?? null,
      details: JSON.stringify(e.details ?? {}),
    };
    const hash = auditHash(prev, content);
    const row = { ...content, prev_hash: prev, hash };
    prev = hash;
    return row;
  });
  await executeForRows(trx, dialect, 'audit.insert', rows, (db, part) => db.insertInto('audit').values(part));
}

export interface AuditVerification {
  ok: boolean;
  rows: number;
  /** The first row whose hash or link does not match, when the chain is broken. */
  brokenAt?: number;
  reason?: string;
}

export async function verifyAuditChain(db: Kysely<Database>): Promise<AuditVerification> {
  let prev = GENESIS_HASH;
  let rows = 0;
  let after = -1;
  for (;;) {
    const page = await db.selectFrom('audit').selectAll().where('seq', '>', after).orderBy('seq').limit(5000).execute();
    if (page.length === 0) return { ok: true, rows };
    for (const row of page) {
      if (row.prev_hash !== prev) return { ok: false, rows, brokenAt: Number(row.seq), reason: 'previous hash does not match' };
      if (auditHash(prev, row) !== row.hash) return { ok: false, rows, brokenAt: Number(row.seq), reason: 'row content does not match its hash' };
      prev = row.hash;
      rows += 1;
      after = Number(row.seq);
    }
  }
}
