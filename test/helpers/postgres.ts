import { randomBytes } from 'node:crypto';
import pg from 'pg';

/**
 * PostgreSQL for tests: the server at TEST_DATABASE_URL (the local one by default), one fresh schema per
 * suite so parallel files and repeated runs never see each other's rows.
 */
export const postgresUrl = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export type PostgresProbe = { ok: true } | { ok: false; reason: string };

/**
 * Whether PostgreSQL answers. Under CI=true a missing server is a failure, not a skip: the suites that
 * prove several replicas are safe must not pass vacuously on a machine where they never ran.
 */
export async function probePostgres(): Promise<PostgresProbe> {
  const client = new pg.Client({ connectionString: postgresUrl, connectionTimeoutMillis: 3_000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('select 1');
    return { ok: true };
  } catch (error) {
    const reason = `PostgreSQL at ${redact(postgresUrl)} is not reachable: ${error instanceof Error ? error.message : String(error)}`;
    if (process.env.CI === 'true') throw new Error(`${reason} (CI=true requires it; set TEST_DATABASE_URL)`, { cause: error });
    console.warn(`\n*** SKIPPING PostgreSQL tests: ${reason}\n`);
    return { ok: false, reason };
  } finally {
    await client.end().catch(() => undefined);
  }
}

export interface TestSchema {
  name: string;
  /** postgresUrl with this schema first on the search_path. */
  url: string;
  drop(): Promise<void>;
}

export async function createTestSchema(prefix: string): Promise<TestSchema> {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`.toLowerCase().replace(/[^a-z0-9_]/g, '_');
  await admin(`create schema "${name}"`);
  const url = new URL(postgresUrl);
  url.searchParams.set('options', `-c search_path=${name}`);
  return {
    name,
    url: url.toString(),
    drop: () => admin(`drop schema if exists "${name}" cascade`),
  };
}

async function admin(statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: postgresUrl });
  client.on('error', () => undefined);
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

function redact(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
}
