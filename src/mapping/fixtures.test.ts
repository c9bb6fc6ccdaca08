import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { tempDirs } from '../../test/helpers/temp-dirs.js';
import { runMappingFixtures } from './fixtures.js';

const tempDir = tempDirs();

const mappingsDir = fileURLToPath(new URL('../../mappings', import.meta.url));
const shipped = ['generic', 'aws-identity-center', 'slack', 'github-emu'];

describe('shipped mapping fixtures', () => {
  it('all pass', async () => {
    const results = await runMappingFixtures(mappingsDir);
    const failures = results
      .filter((result) => !result.passed)
      .map((result) => `${result.file} (${result.description}):\n  ${result.diff.split('\n').join('\n  ')}`);
    expect(failures.join('\n\n')).toBe('');
    expect(results.length).toBeGreaterThan(0);
  });

  it('cover every shipped mapping with the agreed cases', async () => {
    const required = [
      'full-record',
      'minimal-record',
      'preferred-name',
      'department-spaces',
      'accents-and-quotes',
      'terminated',
      'missing-work-email',
    ];
    for (const mapping of shipped) {
      const files = await readdir(join(mappingsDir, 'fixtures', mapping));
      expect({ mapping, missing: required.filter((name) => !files.includes(`${name}.json`)) }).toEqual({ mapping, missing: [] });
    }
  });
});

describe('runMappingFixtures', () => {
  const mapping = [
    'user:',
    '  userName: workEmail',
    '  externalId: id',
    '  displayName: givenName',
    'groups: "[\'all\']"',
  ].join('\n');
  const record = { id: 'E-1', status: 'active', givenName: 'Ada', workEmail: 'ada@example.com' };
  const context = { active: true, today: '2026-12-04' };
  const user = {
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
    userName: 'ada@example.com',
    externalId: 'E-1',
    displayName: 'Ada',
    active: true,
  };

  async function setUp(fixtures: Record<string, unknown>): Promise<string> {
    const dir = await tempDir('mapping-fixtures-');
    await writeFile(join(dir, 'demo.yaml'), mapping);
    await mkdir(join(dir, 'fixtures', 'demo'), { recursive: true });
    for (const [name, body] of Object.entries(fixtures)) {
      await writeFile(join(dir, 'fixtures', 'demo', name), typeof body === 'string' ? body : JSON.stringify(body));
    }
    return dir;
  }

  it('passes a matching fixture and reports each difference of a wrong one by path', async () => {
    const dir = await setUp({
      'a-good.json': { description: 'good', record, context, expected: { user, groups: ['all'], managerEmployeeId: null } },
      'b-wrong.json': {
        description: 'wrong',
        record,
        context,
        expected: { user: { ...user, displayName: 'Ada L' }, groups: [], managerEmployeeId: null },
      },
    });
    const [good, wrong] = await runMappingFixtures(dir);
    expect(good).toMatchObject({ mapping: 'demo', description: 'good', passed: true, diff: '' });
    expect(wrong?.passed).toBe(false);
    expect(wrong?.diff.split('\n')).toEqual([
      'groups[0]: expected nothing, got "all"',
      'user.displayName: expected "Ada L", got "Ada"',
    ]);
  });

  it('checks expected errors, including the attribute the message names', async () => {
    const noEmail = { ...record, workEmail: null };
    const dir = await setUp({
      'a.json': { description: 'right', record: noEmail, context, expectedError: 'MAPPING_OUTPUT_INVALID', expectedMessage: 'user.userName' },
      'b.json': { description: 'wrong attribute', record: noEmail, context, expectedError: 'MAPPING_OUTPUT_INVALID', expectedMessage: 'user.emails' },
      'c.json': { description: 'no error', record, context, expectedError: 'MAPPING_OUTPUT_INVALID' },
    });
    const results = await runMappingFixtures(dir);
    expect(results.map((result) => result.passed)).toEqual([true, false, false]);
    expect(results[1]?.diff).toMatch(/expected the error to mention "user.emails"/);
    expect(results[2]?.diff).toMatch(/^expected MAPPING_OUTPUT_INVALID, got an account/);
  });

  it('fails malformed fixtures and fixtures whose mapping does not load', async () => {
    const dir = await setUp({
      'a.json': '{ not json',
      'b.json': { description: 'bad record', record: { id: 'E-1' }, context, expected: { user, groups: [], managerEmployeeId: null } },
    });
    await mkdir(join(dir, 'fixtures', 'ghost'));
    await writeFile(join(dir, 'fixtures', 'ghost', 'x.json'), '{}');
    const results = await runMappingFixtures(dir);
    expect(results.map((result) => [result.mapping, result.passed])).toEqual([
      ['demo', false],
      ['demo', false],
      ['ghost', false],
    ]);
    expect(results[0]?.diff).toMatch(/not readable JSON/);
    expect(results[1]?.diff).toMatch(/record\.status/);
    expect(results[2]?.diff).toMatch(/mapping did not load: MAPPING_INVALID: .*ghost\.yaml: file not found/);
  });

  it('returns nothing when there are no fixtures', async () => {
    expect(await runMappingFixtures(await tempDir('mapping-empty-'))).toEqual([]);
  });
});
