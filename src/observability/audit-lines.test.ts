import { describe, expect, it } from 'vitest';
import type { AuditEntry } from '../store/audit.js';
import { auditLines } from './audit-lines.js';
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

  it('starts every line with the fields, values and key order of the lines pino writes beside it', () => {
    const { writes, stream } = capture();
    const log = createLogger('info', stream);
    log.info({ component: 'worker' }, 'before');
    auditLines(log)([received]);
    log.info('after');

    const [before, audit, after] = lines(writes);
    const head = (line: Record<string, unknown> | undefined) => Object.entries(line ?? {}).slice(0, 4).map(([k, v]) => (k === '@timestamp' ? k : [k, v]));
    expect(head(audit)).toEqual(head(before));
    expect(Object.keys(audit ?? {}).at(-1)).toBe('message');
    expect([before?.message, audit?.message, after?.message]).toEqual(['before', 'delivery.received', 'after']);
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
