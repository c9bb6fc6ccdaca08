import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { AuditEntry } from '../store/audit.js';
import { auditFields, auditLines } from './audit-lines.js';
import { createLogger } from './logger.js';

function capture() {
  const writes: string[] = [];
  return { writes, stream: { write: (chunk: string) => void writes.push(chunk) } };
}

const lines = (writes: string[]) => writes.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);

const received: AuditEntry = { at: 1, correlationId: 'c-1', action: 'delivery.received', outcome: 'success', source: 'hr', details: { deliveryId: 'd-1', eventType: 'employee.updated' } };
const failed: AuditEntry = { at: 2, correlationId: 'c-2', action: 'scim.user_create', outcome: 'failure', source: null, target: 'slack', employeeId: 'E-7', details: { code: 'SCIM_REJECTED', attempt: 3 } };
const bare: AuditEntry = { at: 3, correlationId: 'c-3', action: 'pair.inactive', outcome: 'unknown' };

describe('audit lines', () => {
  it('writes each row as the ECS document an auditor searches, in order, in one write per commit', () => {
    const { writes, stream } = capture();
    const write = auditLines(createLogger('info', stream));
    write([received, failed, bare, { ...bare, outcome: 'ignored', correlationId: 'c-4' }]);

    expect(writes).toHaveLength(1);
    const [a, b, c, d] = lines(writes).map(({ '@timestamp': at, ...rest }) => {
      expect(Number.isNaN(Date.parse(String(at)))).toBe(false);
      return rest;
    });
    expect(a).toEqual({
      'log.level': 'info',
      service: { name: 'hr-scim-bridge' },
      'ecs.version': expect.any(String),
      event: { kind: 'event', category: ['iam'], action: 'delivery.received', outcome: 'success' },
      trace: { id: 'c-1' },
      labels: { source: 'hr', result: 'success' },
      hr_scim: { audit: { deliveryId: 'd-1', eventType: 'employee.updated' } },
      message: 'delivery.received',
    });
    expect(b).toMatchObject({
      event: { action: 'scim.user_create', outcome: 'failure' },
      user: { target: { id: 'E-7' } },
      labels: { target: 'slack', result: 'failure' },
      hr_scim: { audit: { code: 'SCIM_REJECTED', attempt: 3 } },
    });
    expect(c).toMatchObject({ event: { outcome: 'unknown' }, labels: { result: 'unknown' }, hr_scim: { audit: {} } });
    expect(c).not.toHaveProperty('user');
    // ECS event.outcome has no "ignored": the bridge's own word for it is in labels.result.
    expect(d).toMatchObject({ event: { outcome: 'success' }, labels: { result: 'ignored' }, trace: { id: 'c-4' } });
  });

  it('writes each line byte for byte as pino writes the same fields, in order with the lines around it', () => {
    const awkward: AuditEntry = { ...failed, details: { text: 'quote " backslash \\ newline \n \u2028 ünïcode', nested: { list: [1, null, true], empty: {} } } };
    for (const entry of [received, failed, bare, awkward]) {
      const viaPino = capture();
      createLogger('info', viaPino.stream).info(auditFields(entry), entry.action);
      const direct = capture();
      const log = createLogger('info', direct.stream);
      log.info({ component: 'worker' }, 'before');
      auditLines(log)([entry]);
      log.info('after');
      const blank = (line: string) => line.replace(/"@timestamp":"[^"]+"/, '"@timestamp":""');
      const written = direct.writes.join('').split('\n').filter(Boolean);
      expect(written.map(blank)[1]).toBe(blank(viaPino.writes.join('').trimEnd()));
      expect(written.map((l) => (JSON.parse(l) as { message: string }).message)).toEqual(['before', entry.action, 'after']);
    }
  });

  it('lets pino route the lines when the destination needs each line\'s level', () => {
    const { writes, stream } = capture();
    const log = createLogger('info', pino.multistream([{ level: 'info', stream }, { level: 'error', stream: { write: () => expect.fail('an info line reached the error stream') } }]));
    auditLines(log)([received, failed]);
    expect(lines(writes).map((l) => l.message)).toEqual(['delivery.received', 'scim.user_create']);
  });

  it('writes nothing when info lines are turned off, or for a commit without rows', () => {
    const quiet = capture();
    auditLines(createLogger('warn', quiet.stream))([received]);
    const empty = capture();
    auditLines(createLogger('info', empty.stream))([]);
    expect(quiet.writes).toEqual([]);
    expect(empty.writes).toEqual([]);
  });
});
