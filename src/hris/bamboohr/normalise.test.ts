import { describe, expect, it } from 'vitest';
import { isBridgeError } from '../../domain/errors.js';
import { bambooHrStatus, normaliseBambooHrEmployee } from './normalise.js';

const fetchedAt = new Date('2026-03-02T14:05:09.000Z');

describe('bambooHrStatus', () => {
  it.each([
    ['Active', 'Full-Time', '2020-01-06', 'active'],
    ['Active', null, null, 'active'],
    [null, null, null, 'active'],
    ['Inactive', 'Full-Time', '2020-01-06', 'terminated'],
    ['inactive', null, null, 'terminated'],
    ['Active', 'Terminated', '2020-01-06', 'terminated'],
    ['Active', 'terminated', null, 'terminated'],
    ['Inactive', 'Leave of Absence', '2027-01-01', 'terminated'],
    ['Active', 'Terminated', '2027-01-01', 'terminated'],
    ['Active', 'Full-Time', '2026-03-03', 'pending'],
    ['Active', 'Leave of Absence', '2026-04-01', 'pending'],
    ['Active', 'Full-Time', '2026-03-02', 'active'],
    ['Active', 'Leave of Absence', '2020-01-06', 'leave'],
    ['Active', 'On Leave', '2020-01-06', 'leave'],
    ['Active', 'Parental leave', null, 'leave'],
    ['Active', 'Contractor', '2020-01-06', 'active'],
    ['Active', 'Cleaver Operator', '2020-01-06', 'active'],
  ] as const)('status %s, employment %s, hired %s -> %s', (status, employmentHistoryStatus, hireDate, expected) => {
    expect(bambooHrStatus({ status, employmentHistoryStatus, hireDate }, fetchedAt)).toBe(expected);
  });
});

describe('normaliseBambooHrEmployee', () => {
  const json = {
    id: '1042',
    firstName: 'Testy',
    lastName: 'McFixture',
    preferredName: '',
    workEmail: 'testy.mcfixture@example.test',
    jobTitle: 'Engineer',
    department: 'Engineering',
    division: 'R&D',
    location: 'London',
    employeeNumber: '1042',
    status: 'Inactive',
    employmentHistoryStatus: 'Terminated',
    hireDate: '2020-01-06',
    terminationDate: '2026-03-02',
    supervisorEId: '7',
  };

  it('maps BambooHR fields onto the record', () => {
    expect(normaliseBambooHrEmployee('1042', json, { fetchedAt })).toEqual({
      id: '1042',
      version: null,
      sourceTimestamp: '2026-03-02T14:05:09.000Z',
      status: 'terminated',
      givenName: 'Testy',
      familyName: 'McFixture',
      preferredName: null,
      workEmail: 'testy.mcfixture@example.test',
      title: 'Engineer',
      department: 'Engineering',
      division: 'R&D',
      costCenter: null,
      location: 'London',
      employeeNumber: '1042',
      employmentType: 'Terminated',
      managerId: '7',
      startDate: '2020-01-06',
      endDate: '2026-03-02',
      custom: { bamboohr: { status: 'Inactive', employmentHistoryStatus: 'Terminated' } },
    });
  });

  it('drops a termination date older than a rehire date: it ended the previous employment', () => {
    const rehired = { ...json, status: 'Active', employmentHistoryStatus: 'Full-Time', hireDate: '2026-02-01', terminationDate: '2025-12-31' };
    const record = normaliseBambooHrEmployee('1042', rehired, { fetchedAt });
    expect(record.endDate).toBeNull();
    expect(record.status).toBe('active');
  });

  it('treats empty strings, nulls, missing fields and 0000-00-00 as no value', () => {
    const record = normaliseBambooHrEmployee(
      '5',
      { id: 5, firstName: 'A', lastName: null, terminationDate: '0000-00-00', hireDate: '', supervisorEId: '', status: 'Active' },
      { fetchedAt },
    );
    expect(record).toMatchObject({
      id: '5',
      status: 'active',
      givenName: 'A',
      familyName: null,
      workEmail: null,
      startDate: null,
      endDate: null,
      managerId: null,
    });
  });

  it('reads the cost centre from a configured field', () => {
    const record = normaliseBambooHrEmployee('1042', { ...json, customCostCenter: 'CC-42' }, { fetchedAt, costCenterField: 'customCostCenter' });
    expect(record.costCenter).toBe('CC-42');
  });

  it('refuses a record that cannot be mapped', () => {
    const cases: Record<string, unknown>[] = [
      { ...json, hireDate: '01/06/2020' },
      { ...json, firstName: { nested: true } },
      { ...json, workEmail: 'x'.repeat(2000) },
      { ...json, id: '9999' },
    ];
    for (const bad of cases) {
      let thrown: unknown;
      try {
        normaliseBambooHrEmployee('1042', bad, { fetchedAt });
      } catch (error) {
        thrown = error;
      }
      expect(isBridgeError(thrown, 'HRIS_EMPLOYEE_INVALID')).toBe(true);
    }
  });

  it('names the offending field', () => {
    try {
      normaliseBambooHrEmployee('1042', { ...json, terminationDate: 'soon' }, { fetchedAt });
      expect.unreachable();
    } catch (error) {
      expect(isBridgeError(error, 'HRIS_EMPLOYEE_INVALID')).toBe(true);
      expect((error as { details: { issues: { path: string[] }[] } }).details.issues.map((i) => i.path.join('.'))).toEqual(['endDate']);
    }
  });
});
