import { describe, expect, it } from 'vitest';
import { auditHash, GENESIS_HASH, type AuditRowContent } from './audit.js';

describe('audit hash', () => {
  // Chains already written must still verify: these values were computed when the format was set, and
  // a change to what a row's hash covers, or how, shows up here before it breaks an auditor's check.
  it('hashes a row exactly as the chains already on disk were hashed', () => {
    const row: AuditRowContent = { at: 1_765_000_000_123, correlation_id: 'c-1', action: 'record.updated', outcome: 'success', source: 'hr', target: null, employee_id: 'E-1', details: JSON.stringify({ deliveryId: 'd-1', note: 'quote " and ünïcode' }) };
    const first = auditHash(GENESIS_HASH, row);
    expect(first).toBe('376f5be16e1755db66c20cf2212f0a7693b814c6221a280af93012ef24187753');
    expect(auditHash(first, row)).toBe('7ebdbb8aeffe14ea517a6ca965ef1684219d07a49595108ecde276fe082ea5da');
  });
});
