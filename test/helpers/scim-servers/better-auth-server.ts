/**
 * Standalone better-auth + @better-auth/scim service provider for end-to-end tests.
 * Run as its own process; prints one JSON line `{"baseUrl","token"}` on stdout once listening.
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getAuthTables } from '@better-auth/core/db';
import { scim } from '@better-auth/scim';
import { betterAuth, type BetterAuthOptions } from 'better-auth';
import { memoryAdapter } from 'better-auth/adapters/memory';
import { toNodeHandler } from 'better-auth/node';
import { exitWithParent } from './lifecycle.js';

exitWithParent();

const token = randomBytes(24).toString('base64url');
const basePath = '/api/auth';

// The memory adapter supports the interactive transactions the SCIM plugin insists on,
// but it throws on a model whose table was never created, so every table is pre-created.
const db: Record<string, Record<string, unknown>[]> = {};

const server = createServer();
await new Promise<void>((resolve, reject) => {
  server.once('error', reject);
  server.listen(0, '127.0.0.1', () => resolve());
});
const { port } = server.address() as AddressInfo;
const origin = `http://127.0.0.1:${port}`;

const options = {
  baseURL: origin,
  basePath,
  secret: randomBytes(32).toString('hex'),
  database: memoryAdapter(db),
  logger: { disabled: true },
  telemetry: { enabled: false },
  // SCIM clients are machines on a bearer token; per-IP limits would only make tests flaky.
  rateLimit: { enabled: false },
  plugins: [
    scim({
      // A code-defined connection is the plugin's simplest bearer setup: no user,
      // organisation or SSO provider is needed to mint the token.
      connections: [{ id: 'e2e', credentials: [{ type: 'bearer', id: 'e2e-token', token }] }],
    }),
  ],
} satisfies BetterAuthOptions;

for (const [key, table] of Object.entries(getAuthTables(options))) {
  db[key] ??= [];
  db[table.modelName] ??= [];
}

const auth = betterAuth(options);
server.on('request', toNodeHandler(auth));

process.stdout.write(`${JSON.stringify({ baseUrl: `${origin}${basePath}/scim/v2`, token })}\n`);
