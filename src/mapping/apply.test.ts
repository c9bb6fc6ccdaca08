import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { tempDirs } from '../../test/helpers/temp-dirs.js';
import type { EmployeeRecord } from '../domain/employee.js';
import { BridgeError } from '../domain/errors.js';
import { loadMapping } from './load.js';

const tempDir = tempDirs();

const compiles = vi.hoisted(() => ({ count: 0 }));
vi.mock('jsonata', async (importOriginal) => {
  const actual = await importOriginal<{ default: typeof import('jsonata') }>();
  const counting = (text: string) => {
    compiles.count += 1;
    return actual.default(text);
  };
  return { default: counting };
});

const enterprise = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const context = { active: true, today: '2026-12-04' };
const ada: EmployeeRecord = { id: 'E-1', status: 'active', givenName: 'Ada', familyName: 'Lovelace', workEmail: 'ada@example.com' };

async function mapping(lines: string[]) {
  const dir = await tempDir('mapping-apply-');
  const file = join(dir, 'demo.yaml');
  await writeFile(file, ['user:', '  userName: workEmail', '  externalId: id', ...lines].join('\n'));
  return loadMapping(file);
}

async function failure(promise: Promise<unknown>): Promise<BridgeError> {
  const error: unknown = await promise.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  if (!(error instanceof BridgeError)) throw new Error(`expected a BridgeError, got ${String(error)}`);
  return error;
}

describe('CompiledMapping.apply', () => {
  it('nests dotted attributes, gives extensions their own object and lists only schemas present', async () => {
    const m = await mapping([
      '  name.givenName: givenName',
      '  name.familyName: familyName',
      `  ${enterprise}:department: department`,
      '  urn:example:params:scim:schemas:extension:acme:2.0:User:badge: custom.badge',
    ]);
    const withDepartment = await m.apply({ ...ada, department: 'Ops' }, context);
    expect(withDepartment.user).toEqual({
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:User', enterprise],
      userName: 'ada@example.com',
      externalId: 'E-1',
      name: { givenName: 'Ada', familyName: 'Lovelace' },
      active: true,
      [enterprise]: { department: 'Ops' },
    });
    const withoutDepartment = await m.apply({ ...ada, department: null, custom: { badge: 'B-7' } }, context);
    expect(withoutDepartment.user.schemas).toEqual([
      'urn:ietf:params:scim:schemas:core:2.0:User',
      'urn:example:params:scim:schemas:extension:acme:2.0:User',
    ]);
    expect(withoutDepartment.user[enterprise]).toBeUndefined();
  });

  it('drops null, empty strings, empty arrays and objects left empty', async () => {
    const m = await mapping([
      '  title: "\'\'"',
      '  nickName: "null"',
      '  phoneNumbers: "[]"',
      '  name.givenName: givenName',
      '  addresses: \'[{"locality": location}]\'',
    ]);
    const { user } = await m.apply({ ...ada, givenName: null }, context);
    expect(Object.keys(user)).toEqual(['schemas', 'userName', 'externalId', 'active']);
  });

  it('takes active from the context and binds $active and $today', async () => {
    const m = await mapping(['  title: "$active ? \'yes\' : \'no\'"', '  nickName: "$today"']);
    const { user } = await m.apply(ada, { active: false, today: '2027-01-31' });
    expect(user).toMatchObject({ active: false, title: 'no', nickName: '2027-01-31' });
  });

  it('sees null record fields as absent, so concatenation never prints "null"', async () => {
    const m = await mapping(['  displayName: "givenName & \'|\' & preferredName"']);
    expect((await m.apply({ ...ada, preferredName: null }, context)).user.displayName).toBe('Ada|');
  });

  it('returns groups as a de-duplicated list and the manager HR id', async () => {
    const m = await mapping(['groups: "[department, \'all\', \'all\', \'\']"', 'manager: managerId']);
    expect(await m.apply({ ...ada, department: 'ops', managerId: 'E-0' }, context)).toMatchObject({
      groups: ['ops', 'all'],
      managerEmployeeId: 'E-0',
    });
    const single = await mapping(['groups: department']);
    expect((await single.apply({ ...ada, department: 'ops' }, context)).groups).toEqual(['ops']);
    expect((await single.apply(ada, context)).groups).toEqual([]);
  });

  it('does not compile anything while applying', async () => {
    const m = await mapping(['  displayName: givenName', 'groups: department', 'manager: managerId']);
    const before = compiles.count;
    await m.apply(ada, context);
    await m.apply({ ...ada, id: 'E-2' }, context);
    expect(compiles.count).toBe(before);
  });

  it('names the attribute when an expression fails at run time', async () => {
    const m = await mapping(['  title: "$number(title)"']);
    const error = await failure(m.apply({ ...ada, title: 'Engineer' }, context));
    expect(error.code).toBe('MAPPING_EVALUATION_FAILED');
    expect(error.message).toMatch(/demo\.yaml: user\.title: D3030 /);
  });

  it('refuses the clock and randomness so the result depends only on the record and $today', async () => {
    for (const call of ['$now()', '$millis()', '$random()']) {
      const m = await mapping([`  title: "${call}"`]);
      const error = await failure(m.apply(ada, context));
      expect(error.code).toBe('MAPPING_EVALUATION_FAILED');
      expect(error.message).toMatch(/is not available in mappings/);
    }
  });

  it.each([
    ['userName missing', [], { ...ada, workEmail: null }, /user\.userName: is required/],
    ['userName not a string', ['  title: title'], { ...ada, workEmail: undefined, title: 'x' }, /user\.userName/],
    ['email without value', ['  emails: \'[{"type": "work", "value": title}]\''], ada, /user\.emails\[0\]\.value: is required/],
    ['email not an address', ['  emails: \'[{"value": givenName}]\''], ada, /user\.emails\[0\]\.value: is not an email address/],
    ['emails not a list', ['  emails: \'{"value": workEmail}\''], ada, /user\.emails: must be a list/],
    ['two primaries', ['  emails: \'[{"value": workEmail, "primary": true}, {"value": "b@example.com", "primary": true}]\''], ada, /more than one address as primary/],
    ['primary not a boolean', ['  emails: \'[{"value": workEmail, "primary": "yes"}]\''], ada, /emails\[0\]\.primary: must be true or false/],
    ['a function as a value', ['  title: "function($x) { $x }"'], ada, /user\.title: is a function/],
    ['a non-finite number', ['  title: "1/0"'], ada, /user\.title: is not a finite number/],
    ['a group that is not a string', ['groups: "[1]"'], ada, /: groups\[0\]: must be a group name/],
    ['a manager that is not a string', ['manager: "42"'], ada, /: manager: must be the manager's HR id/],
    ['a required attribute with no value', ['  displayName: title', 'required: [displayName]'], ada, /user\.displayName: is required by this target/],
  ])('rejects output with %s as MAPPING_OUTPUT_INVALID', async (_case, lines, record, message) => {
    const m = await mapping(lines);
    const error = await failure(m.apply(record as EmployeeRecord, context));
    expect(error.code).toBe('MAPPING_OUTPUT_INVALID');
    expect(error.message).toMatch(message);
  });
});

describe('the generic mapping', () => {
  const generic = loadMapping(fileURLToPath(new URL('../../mappings/generic.yaml', import.meta.url)));
  const text = fc.option(fc.string({ maxLength: 40 }), { nil: null });

  it('always yields a valid account or MAPPING_OUTPUT_INVALID, with department groups free of whitespace', async () => {
    const m = await generic;
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          givenName: text,
          familyName: text,
          preferredName: text,
          department: text,
          workEmail: fc.option(fc.emailAddress(), { nil: null }),
          active: fc.boolean(),
        }),
        async ({ active, ...fields }) => {
          const record: EmployeeRecord = { id: 'E-1', status: active ? 'active' : 'terminated', ...fields };
          try {
            const account = await m.apply(record, { active, today: '2026-12-04' });
            expect(account.user.userName).toBe(fields.workEmail);
            expect(account.user.active).toBe(active);
            expect(account.groups.length).toBeLessThanOrEqual(1);
            for (const group of account.groups) expect(group).toMatch(/^dept-\S+$/);
            expect(account.groups.length).toBe(fields.department?.trim() ? 1 : 0);
          } catch (error) {
            expect(error).toBeInstanceOf(BridgeError);
            expect((error as BridgeError).code).toBe('MAPPING_OUTPUT_INVALID');
            expect(fields.workEmail).toBeNull();
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});
