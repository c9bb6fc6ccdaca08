import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { employeeRecordSchema } from '../domain/employee.js';
import { isBridgeError } from '../domain/errors.js';
import { jsonDiff } from './diff.js';
import { loadMapping } from './load.js';
import type { LoadedMapping } from './schema.js';

/** The outcome of one golden fixture. */
export interface FixtureResult {
  /** Mapping name: the fixture directory, matching `<mappingsDir>/<mapping>.yaml`. */
  mapping: string;
  /** Path of the fixture file. */
  file: string;
  description: string;
  passed: boolean;
  /** One line per difference or problem; empty when passed. */
  diff: string;
}

const fixtureSchema = z
  .object({
    description: z.string().min(1),
    record: employeeRecordSchema,
    context: z
      .object({ active: z.boolean(), today: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'expected YYYY-MM-DD') })
      .strict(),
    expected: z
      .object({
        user: z.record(z.string(), z.unknown()),
        groups: z.array(z.string()),
        managerEmployeeId: z.string().nullable(),
      })
      .strict()
      .optional(),
    expectedError: z.enum(['MAPPING_OUTPUT_INVALID', 'MAPPING_EVALUATION_FAILED']).optional(),
    /** Optional text the error message must contain, to pin which attribute failed. */
    expectedMessage: z.string().optional(),
  })
  .strict()
  .refine((fixture) => (fixture.expected === undefined) !== (fixture.expectedError === undefined), {
    message: 'give exactly one of "expected" and "expectedError"',
  });

type Fixture = z.infer<typeof fixtureSchema>;

async function listDirectory(path: string): Promise<Array<{ name: string; directory: boolean }>> {
  try {
    const entries = await readdir(path, { withFileTypes: true });
    return entries
      .map((entry) => ({ name: entry.name, directory: entry.isDirectory() }))
      .sort((a, b) => a.name.localeCompare(b.name));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

async function readFixture(file: string): Promise<Fixture | string> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    return `fixture is not readable JSON: ${error instanceof Error ? error.message : String(error)}`;
  }
  const parsed = fixtureSchema.safeParse(raw);
  if (parsed.success) return parsed.data;
  return parsed.error.issues.map((issue) => `fixture ${issue.path.join('.') || '(root)'}: ${issue.message}`).join('\n');
}

function describeError(error: unknown): string {
  if (isBridgeError(error)) return `${error.code}: ${error.message}`;
  return error instanceof Error ? error.message : String(error);
}

async function check(mapping: LoadedMapping, fixture: Fixture): Promise<string[]> {
  let actual: unknown;
  try {
    actual = JSON.parse(JSON.stringify(await mapping.apply(fixture.record, fixture.context)));
  } catch (error) {
    if (!fixture.expectedError) return [`expected an account, got ${describeError(error)}`];
    if (!isBridgeError(error, fixture.expectedError)) return [`expected ${fixture.expectedError}, got ${describeError(error)}`];
    if (fixture.expectedMessage && !error.message.includes(fixture.expectedMessage)) {
      return [`expected the error to mention ${JSON.stringify(fixture.expectedMessage)}, got ${error.message}`];
    }
    return [];
  }
  if (fixture.expectedError) return [`expected ${fixture.expectedError}, got an account: ${JSON.stringify(actual)}`];
  return jsonDiff(fixture.expected, actual);
}

/**
 * Runs every golden fixture `<mappingsDir>/fixtures/<mapping>/*.json` against `<mappingsDir>/<mapping>.yaml`.
 * A mapping that does not load fails each of its fixtures with the load error.
 */
export async function runMappingFixtures(mappingsDir = 'mappings'): Promise<FixtureResult[]> {
  const results: FixtureResult[] = [];
  const fixturesDir = join(mappingsDir, 'fixtures');
  for (const entry of await listDirectory(fixturesDir)) {
    if (!entry.directory) continue;
    const files = (await listDirectory(join(fixturesDir, entry.name)))
      .filter((file) => !file.directory && file.name.endsWith('.json'))
      .map((file) => join(fixturesDir, entry.name, file.name));
    let mapping: LoadedMapping | string;
    try {
      mapping = await loadMapping(join(mappingsDir, `${entry.name}.yaml`));
    } catch (error) {
      mapping = `mapping did not load: ${describeError(error)}`;
    }
    for (const file of files) {
      const fixture = await readFixture(file);
      const description = typeof fixture === 'string' ? '' : fixture.description;
      let problems: string[];
      if (typeof mapping === 'string') problems = [mapping];
      else if (typeof fixture === 'string') problems = [fixture];
      else problems = await check(mapping, fixture);
      results.push({ mapping: entry.name, file, description, passed: problems.length === 0, diff: problems.join('\n') });
    }
  }
  return results;
}
