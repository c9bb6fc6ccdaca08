#!/usr/bin/env node
// Sends one signed sample HR event to a running bridge, the way an HRIS using the generic
// Standard Webhooks source would, so an operator can watch a delivery go through end to end.
//
//   node scripts/send-sample.mjs [--config FILE] [--url URL] [--status STATUS] [--id EMPLOYEE_ID]
//
// Only Node built-ins and the `yaml` package: it must run from a fresh checkout after `npm ci`.

import { Buffer } from 'node:buffer';
import console from 'node:console';
import { createHmac, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import process from 'node:process';
import { URL } from 'node:url';
import { parseArgs } from 'node:util';
import { parse as parseYaml } from 'yaml';

const STATUSES = ['pending', 'active', 'leave', 'terminated'];
const REQUEST_TIMEOUT_MS = 10_000;

const usage = `Usage: node scripts/send-sample.mjs [options]

Options:
  --config FILE    bridge config (default: $HR_SCIM_BRIDGE_CONFIG or examples/hr-scim-bridge.yaml)
  --url URL        POST here instead of http://<server.host>:<server.port>/webhooks/<source>
  --status STATUS  ${STATUSES.join(' | ')} (default: active)
  --id ID          employee id (default: E-1001)
  -h, --help       show this help`;

function fail(message, code = 2) {
  console.error(`send-sample: ${message}`);
  process.exit(code);
}

function parseOptions() {
  try {
    const { values } = parseArgs({
      options: {
        config: { type: 'string' },
        url: { type: 'string' },
        status: { type: 'string', default: 'active' },
        id: { type: 'string', default: 'E-1001' },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: false,
    });
    return values;
  } catch (err) {
    return fail(`${err.message}\n\n${usage}`);
  }
}

function loadConfig(path) {
  let text;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    return fail(`cannot read config ${path}: ${err.code ?? err.message}`);
  }
  try {
    return parseYaml(text) ?? {};
  } catch (err) {
    return fail(`config ${path} is not valid YAML: ${err.message}`);
  }
}

// Mirrors the bridge's own secret references so the sample is signed with exactly the key the
// service verifies against; with a list (rotation) the first entry is the current one.
function resolveSecret(ref, sourceName) {
  const first = Array.isArray(ref) ? ref[0] : ref;
  if (typeof first !== 'string' || first.trim() === '') {
    return fail(`source "${sourceName}" has no secret in the config`);
  }
  if (first.startsWith('env:')) {
    const name = first.slice(4);
    const value = process.env[name];
    if (value === undefined || value.trim() === '') {
      return fail(`source "${sourceName}": secret ${first} is not set in this shell; export ${name}=whsec_...`);
    }
    return value.trim();
  }
  if (first.startsWith('file:')) {
    const path = resolve(process.cwd(), first.slice(5));
    try {
      return readFileSync(path, 'utf8').trim();
    } catch (err) {
      return fail(`source "${sourceName}": cannot read secret file ${path}: ${err.code ?? err.message}`);
    }
  }
  if (first.startsWith('vault:')) {
    return fail(`source "${sourceName}": ${first} is a Vault reference; this script cannot read Vault`);
  }
  return first.trim();
}

function signingKey(secret) {
  const encoded = secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret;
  const key = Buffer.from(encoded, 'base64');
  if (key.length === 0) fail('the webhook secret is empty after base64 decoding; expected whsec_<base64>');
  return key;
}

function isoDay(date) {
  return date.toISOString().slice(0, 10);
}

function buildEvent(id, status) {
  const now = new Date();
  const startDate = new Date(now.getTime() - 30 * 24 * 3600 * 1000);
  const digits = id.replace(/\D+/g, '');
  return {
    type: 'employee.upserted',
    timestamp: now.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    data: {
      id,
      // Milliseconds since the epoch always increase, so every run is newer than the last one
      // and is not ignored as an out-of-order record.
      version: now.getTime(),
      status,
      givenName: 'Ada',
      familyName: 'Lovelace',
      preferredName: null,
      workEmail: id === 'E-1001' ? 'ada.lovelace@example.com' : `ada.lovelace+${id.toLowerCase()}@example.com`,
      title: 'Engineer',
      department: 'Engineering',
      division: 'R&D',
      costCenter: 'CC-42',
      location: 'London',
      employeeNumber: digits === '' ? null : digits,
      employmentType: 'full_time',
      // No manager: the sample must not point at an employee the bridge has never received.
      managerId: null,
      // A start date in the past, so a pending or active sample is due for an account today.
      startDate: isoDay(startDate),
      endDate: status === 'terminated' ? isoDay(now) : null,
      custom: {},
    },
  };
}

function sign(key, body) {
  const id = `msg_${randomBytes(16).toString('base64url')}`;
  const timestamp = Math.floor(Date.now() / 1000).toString();
  const mac = createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64');
  return { 'webhook-id': id, 'webhook-timestamp': timestamp, 'webhook-signature': `v1,${mac}` };
}

function hostForUrl(host) {
  // A wildcard listen address is not something a client can connect to.
  if (host === undefined || host === '' || host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

function describeFetchError(err) {
  const cause = err?.cause;
  const code = cause?.code ?? cause?.errors?.[0]?.code;
  if (code === 'ECONNREFUSED') return 'connection refused';
  if (err?.name === 'TimeoutError') return `no answer within ${REQUEST_TIMEOUT_MS / 1000} s`;
  return cause?.message ?? err?.message ?? String(err);
}

async function main() {
  const opts = parseOptions();
  if (opts.help) {
    console.log(usage);
    return;
  }
  if (!STATUSES.includes(opts.status)) fail(`--status must be one of ${STATUSES.join(', ')}`);
  if (opts.id.trim() === '') fail('--id must not be empty');

  const configPath = opts.config ?? process.env.HR_SCIM_BRIDGE_CONFIG ?? 'examples/hr-scim-bridge.yaml';
  const config = loadConfig(configPath);
  const sources = Array.isArray(config.sources) ? config.sources : [];
  const source = sources.find((s) => s?.type === 'standard-webhooks');
  if (!source) fail(`${configPath} has no source of type standard-webhooks`);

  const key = signingKey(resolveSecret(source.secret, source.name));
  const server = config.server ?? {};
  const url =
    opts.url ?? `http://${hostForUrl(server.host)}:${server.port ?? 8080}/webhooks/${encodeURIComponent(source.name)}`;
  const origin = (() => {
    try {
      return new URL(url).origin;
    } catch {
      return fail(`not a valid URL: ${url}`);
    }
  })();

  const event = buildEvent(opts.id, opts.status);
  // Signed and sent as the exact same string: the signature covers the raw bytes.
  const body = JSON.stringify(event);
  const headers = { 'content-type': 'application/json', ...sign(key, body) };

  console.log(`POST ${url}`);
  console.log(`  ${event.type} ${event.data.id} status=${event.data.status} version=${event.data.version}`);
  console.log(`  webhook-id: ${headers['webhook-id']}`);

  let response;
  try {
    response = await globalThis.fetch(url, {
      method: 'POST',
      headers,
      body,
      signal: globalThis.AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
  } catch (err) {
    fail(`${url}: ${describeFetchError(err)}. Is the service running? Start it with npm start`, 1);
  }

  const text = await response.text();
  let shown = text;
  try {
    shown = JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    // Not JSON: show it as it came.
  }
  console.log(`\n${response.status} ${response.statusText}`);
  if (shown !== '') console.log(shown);

  if (!response.ok) {
    fail(`the bridge answered ${response.status}; its log line for webhook-id ${headers['webhook-id']} says why`, 1);
  }
  console.log(
    `\nAccepted. Follow webhook-id ${headers['webhook-id']} / employee ${event.data.id} in the service's log` +
      ` (stdout, ECS JSON), the counters in ${origin}/metrics (hrscim_*), and the audit chain with` +
      ` \`node dist/cli.js audit verify --config ${configPath}\`` +
      ` (docker compose: \`docker compose exec bridge hr-scim-bridge audit verify\`).`,
  );
}

await main();
