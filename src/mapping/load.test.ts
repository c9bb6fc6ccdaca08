import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDirs } from '../../test/helpers/temp-dirs.js';
import { BridgeError } from '../domain/errors.js';
import { loadMapping, loadMappings } from './load.js';
import { defaultPolicy, defaultProfile } from './schema.js';

const tempDir = tempDirs();

const base = ['user:', '  userName: workEmail', '  externalId: id'];

async function mappingFile(lines: string[], name = 'demo.yaml'): Promise<string> {
  const dir = await tempDir('mapping-load-');
  const file = join(dir, name);
  await writeFile(file, lines.join('\n'));
  return file;
}

async function loadError(lines: string[]): Promise<{ file: string; error: BridgeError }> {
  const file = await mappingFile(lines);
  const error: unknown = await loadMapping(file).then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  if (!(error instanceof BridgeError)) throw new Error(`expected a BridgeError, got ${String(error)}`);
  expect(error.code).toBe('MAPPING_INVALID');
  expect(error.message).toContain(file);
  return { file, error };
}

describe('loadMapping', () => {
  it('fills profile and policy from the generic defaults and names the mapping after its file', async () => {
    const mapping = await loadMapping(await mappingFile(base, 'acme.yaml'));
    expect(mapping.name).toBe('acme');
    expect(mapping.profile).toEqual(defaultProfile);
    expect(mapping.policy).toEqual(defaultPolicy);
  });

  it('rejects YAML that does not parse, with the line', async () => {
    const { file, error } = await loadError([...base, '  title: [unclosed']);
    expect(error.message).toMatch(new RegExp(`${file}: YAML error at line \\d+, column \\d+`));
  });

  it('rejects duplicate keys', async () => {
    const { error } = await loadError([...base, '  userName: id']);
    expect(error.message).toMatch(/YAML error.*[Mm]ap keys must be unique/);
  });

  it('rejects a jsonata syntax error naming the attribute and position', async () => {
    const { file, error } = await loadError([...base, "  title: \"title & ( 'x'\""]);
    expect(error.message).toContain(`${file}: user.title: jsonata syntax error at position`);
    expect(error.details).toMatchObject({ file, attribute: 'user.title' });
  });

  it('rejects a jsonata syntax error in groups and manager', async () => {
    expect((await loadError([...base, 'groups: "[department"'])).error.message).toMatch(/: groups: jsonata syntax error/);
    expect((await loadError([...base, 'manager: "managerId +"'])).error.message).toMatch(/: manager: jsonata syntax error/);
  });

  it('rejects unknown keys at the top level and inside profile and policy', async () => {
    expect((await loadError([...base, 'groupz: department'])).error.message).toMatch(/demo\.yaml: unknown key "groupz"/);
    expect((await loadError([...base, 'profile: { rps: 3 }'])).error.message).toMatch(/: profile: unknown key "rps"/);
    expect((await loadError([...base, 'policy: { leave: away }'])).error.message).toMatch(/: policy\.leave: /);
  });

  it('rejects a mapping without userName or externalId', async () => {
    expect((await loadError(['user:', '  externalId: id'])).error.message).toMatch(/: user\.userName: is missing/);
    expect((await loadError(['user:', '  userName: workEmail'])).error.message).toMatch(/: user\.externalId: is missing/);
    expect((await loadError(['profile: {}'])).error.message).toMatch(/: user: /);
  });

  it('rejects non-string expressions and empty ones', async () => {
    expect((await loadError([...base, '  emails.primary: true'])).error.message).toMatch(/user\.emails\.primary: expected a jsonata expression/);
    expect((await loadError([...base, '  title: ""'])).error.message).toMatch(/user\.title: expression is empty/);
  });

  it('rejects attributes the bridge owns', async () => {
    expect((await loadError([...base, '  active: "true"'])).error.message).toMatch(/user\.active: "active" is set by the bridge/);
    expect((await loadError([...base, '  groups: department'])).error.message).toMatch(/user\.groups: "groups" is set by the bridge/);
    expect(
      (await loadError([...base, '  urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value: managerId'])).error.message,
    ).toMatch(/manager" is resolved per target/);
  });

  it('rejects malformed and overlapping attribute paths', async () => {
    expect((await loadError([...base, '  name.given.name: givenName'])).error.message).toMatch(/user\.name\.given\.name: expected a SCIM attribute path/);
    expect((await loadError([...base, '  name: "{}"', '  name.givenName: givenName'])).error.message).toMatch(/user\.name\.givenName: overlaps "name"/);
    expect((await loadError([...base, '  name.givenName: givenName', '  Name.familyName: familyName'])).error.message).toMatch(
      /user\.Name\.familyName: spelled differently from "name\.givenName"/,
    );
    expect((await loadError([...base, '  username: workEmail'])).error.message).toMatch(/user\.username: spell it "userName"/);
  });

  it('rejects required attributes the mapping never writes', async () => {
    expect((await loadError([...base, 'required: [displayName]'])).error.message).toMatch(/required\[0\]: is not mapped/);
  });

  it('rejects out-of-range profile and policy values', async () => {
    expect((await loadError([...base, 'profile: { requestsPerSecond: 0 }'])).error.message).toMatch(/profile\.requestsPerSecond: /);
    expect((await loadError([...base, 'profile: { userLookup: [] }'])).error.message).toMatch(/profile\.userLookup: /);
    expect((await loadError([...base, 'policy: { graceDays: -1 }'])).error.message).toMatch(/policy\.graceDays: /);
  });

  it('names a missing file', async () => {
    await expect(loadMapping('mappings/does-not-exist.yaml')).rejects.toThrow(/mappings\/does-not-exist\.yaml: file not found/);
  });
});

describe('loadMappings', () => {
  it('loads each distinct file once, keyed by path', async () => {
    const a = await mappingFile(base, 'a.yaml');
    const b = await mappingFile(base, 'b.yaml');
    const loaded = await loadMappings([a, b, a]);
    expect([...loaded.keys()]).toEqual([a, b]);
    expect(loaded.get(b)?.name).toBe('b');
  });

  it('reports every broken file at once', async () => {
    const good = await mappingFile(base);
    const bad1 = await mappingFile(['user: {}'], 'one.yaml');
    const bad2 = await mappingFile([...base, 'nope: 1'], 'two.yaml');
    const error: unknown = await loadMappings([good, bad1, bad2]).catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(BridgeError);
    expect((error as BridgeError).code).toBe('MAPPING_INVALID');
    expect((error as BridgeError).message).toContain(`${bad1}: user.userName`);
    expect((error as BridgeError).message).toContain(`${bad2}: unknown key "nope"`);
  });
});
