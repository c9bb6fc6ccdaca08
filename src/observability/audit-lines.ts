import { pino, type DestinationStream, type Logger } from 'pino';
import type { AuditEntry } from '../store/audit.js';
import { baseBindings, ecsOptions } from './logger.js';

type Formatters = Required<NonNullable<ReturnType<typeof ecsOptions>['formatters']>>;

/** The fields of an audit row's log line besides those every line carries; the message is its action. */
export function auditFields(e: AuditEntry): Record<string, unknown> {
  return {
    event: { kind: 'event', category: ['iam'], action: e.action, outcome: e.outcome === 'failure' ? 'failure' : e.outcome === 'unknown' ? 'unknown' : 'success' },
    trace: { id: e.correlationId },
    ...(e.employeeId ? { user: { target: { id: e.employeeId } } } : {}),
    labels: { ...(e.target ? { target: e.target } : {}), ...(e.source ? { source: e.source } : {}), result: e.outcome },
    hr_scim: { audit: e.details ?? {} },
  };
}

/**
 * Writes a commit's audit rows as ECS log lines, one per row, byte for byte what pino's ECS format
 * writes for the same fields but for the timestamp, which all rows of a commit share (they became
 * durable together); audit-lines.test.ts holds the two side by side. Through pino's per-line path the
 * two rows of a webhook cost about 20 µs, a fifth of its CPU under load (ADR 13). Here each row is one
 * native JSON.stringify and the commit's rows are one write to pino's own destination, in order with
 * the lines logged around them.
 */
export function auditLines(log: Logger): (entries: readonly AuditEntry[]) => void {
  const stream = (log as unknown as Record<symbol, DestinationStream & Record<symbol, unknown>>)[pino.symbols.streamSym]!;
  // A destination that routes by level (pino.multistream) needs pino to tell it each line's level.
  if (stream[pino.symbols.needsMetadataGsym]) {
    return (entries) => entries.forEach((e) => log.info(auditFields(e), e.action));
  }
  const { level, bindings } = ecsOptions().formatters as Formatters;
  const head = { ...level('info', pino.levels.values.info!), '@timestamp': '', ...bindings(baseBindings) };
  return (entries) => {
    if (entries.length === 0 || !log.isLevelEnabled('info')) return;
    head['@timestamp'] = new Date().toISOString();
    let lines = '';
    for (const e of entries) {
      lines += JSON.stringify({ ...head, ...auditFields(e), message: e.action });
      lines += '\n';
    }
    stream.write(lines);
  };
}
