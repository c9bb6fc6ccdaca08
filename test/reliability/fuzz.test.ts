import { request } from 'node:http';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signStandardWebhook } from '../helpers/signing.js';
import { startInProcess, type InProcessBridge } from './support/in-process.js';
import { pick } from './support/mode.js';
import { SecretScanner } from './support/secret-scan.js';

const RUNS = pick(1_500, 20_000);
const HEAP_GROWTH_LIMIT = 64 * 1024 * 1024;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const settleHeap = async (): Promise<number> => {
  for (let i = 0; i < 3; i += 1) {
    gc();
    await new Promise((r) => setImmediate(r));
  }
  return process.memoryUsage().heapUsed;
};

interface Sent {
  status: number;
  text: string;
}

/** node:http rather than fetch: headers go out exactly as generated, including odd encodings. */
function post(url: string, path: string, headers: Record<string, string>, body: Buffer): Promise<Sent> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}${path}`, { method: 'POST', headers: { ...headers, 'content-length': String(body.length) } }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(parts).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

const printable = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 80 });
const unicode = fc.string({ unit: 'binary', maxLength: 60 });
const loneSurrogate = fc.constantFrom('\ud800', '\udfff', 'a\ud83dz', '\u0000', '\u202e', '\ufeff');
const field = fc.oneof(unicode, loneSurrogate, fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.jsonValue({ maxDepth: 3 }));

const record = fc.record(
  {
    id: fc.oneof(fc.constant('E-1'), unicode, printable, fc.integer()),
    version: fc.oneof(fc.integer(), fc.double(), fc.constant(Number.MAX_SAFE_INTEGER), unicode),
    status: fc.oneof(fc.constantFrom('pending', 'active', 'leave', 'terminated'), unicode),
    givenName: field,
    familyName: field,
    workEmail: fc.oneof(fc.emailAddress(), field),
    title: field,
    department: field,
    managerId: field,
    startDate: fc.oneof(fc.constantFrom('2026-01-05', '2026-02-30', '9999-12-31', '0000-00-00'), unicode),
    endDate: field,
    custom: fc.oneof(fc.dictionary(unicode, fc.jsonValue({ maxDepth: 4 })), field),
  },
  { requiredKeys: [] },
);

const deep = (depth: number, leaf: string) => `${'['.repeat(depth)}${leaf}${']'.repeat(depth)}`;

/** Bodies: structured (mutated deliveries), raw JSON, raw bytes, deep, huge. */
const body = fc.oneof(
  { weight: 5, arbitrary: fc.record({ type: fc.oneof(fc.constantFrom('employee.upserted', 'employee.deleted'), unicode), timestamp: fc.oneof(fc.date({ noInvalidDate: true }).map((d) => d.toISOString()), unicode), data: fc.oneof(record, field) }, { requiredKeys: [] }).map((o) => Buffer.from(JSON.stringify(o))) },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 6 }).map((v) => Buffer.from(JSON.stringify(v) ?? 'null')) },
  { weight: 2, arbitrary: fc.uint8Array({ maxLength: 2_000 }).map((b) => Buffer.from(b)) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 120_000 }).map((n) => Buffer.from(`{"type":"employee.upserted","data":{"id":"E-9","status":"active","custom":{"x":${deep(n, '1')}}}}`)) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 120_000 }).map((n) => Buffer.from(deep(n, '{"id":"E-9"}'))) },
  { weight: 1, arbitrary: fc.integer({ min: 200_000, max: 300_000 }).map((n) => Buffer.from(`{"type":"employee.upserted","data":{"id":"E-9","status":"active","title":"${'é'.repeat(n / 2)}"}}`)) },
  { weight: 1, arbitrary: fc.tuple(unicode, fc.constantFrom('utf16le', 'latin1', 'utf8') as fc.Arbitrary<BufferEncoding>).map(([s, enc]) => Buffer.from(JSON.stringify({ type: 'employee.upserted', data: { id: s, status: 'active' } }), enc)) },
);

const signing = fc.constantFrom('valid', 'valid', 'valid', 'forged', 'missing', 'stale', 'several', 'garbage');
const contentType = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom('application/json', 'application/json; charset=utf-8', 'application/scim+json') },
  fc.constantFrom('application/json', 'application/json; charset=utf-8', 'application/scim+json', 'text/plain', 'application/json; charset=utf-16', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', ''),
  printable,
);
const extraHeaders = fc.dictionary(fc.constantFrom('content-encoding', 'transfer-encoding-x', 'x-forwarded-for', 'webhook-foo', 'svix-id', 'accept-charset', 'expect-x'), printable, { maxKeys: 3 });

describe('fuzz: the webhook endpoint under random, mutated, huge, deep and unicode requests', () => {
  const scanner = new SecretScanner();
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  let bridge: InProcessBridge;
  let secret = '';

  beforeAll(async () => {
    process.on('unhandledRejection', onUnhandled);
    process.on('uncaughtException', onUnhandled);
    bridge = await startInProcess({
      targets: [{ name: 'app', baseUrl: 'http://127.0.0.1:9/scim/v2', auth: { type: 'bearer', token: 'fuzz-scim-token-never-sent' }, mapping: 'mappings/generic.yaml', mode: 'dry-run' }],
      logLevel: 'info',
      onLog: (line) => scanner.scan('bridge log', line),
    });
    secret = bridge.secret;
    scanner.addSecret('the webhook secret', secret);
    scanner.addSecret('the SCIM bearer token', 'fuzz-scim-token-never-sent');
  });

  afterAll(async () => {
    await bridge?.close();
    process.off('unhandledRejection', onUnhandled);
    process.off('uncaughtException', onUnhandled);
  });

  it(`answers ${RUNS} generated requests without a 5xx, a crash or an unhandled rejection, and its heap stays flat`, async () => {
    let n = 0;
    const statuses = new Map<number, number>();
    const property = fc.asyncProperty(body, signing, contentType, extraHeaders, fc.nat(9), async (raw, how, type, extra, sourceRoll) => {
      const knownSource = sourceRoll > 0;
      n += 1;
      const id = `msg_fuzz_${n}`;
      const now = Math.floor(bridge.clock.now() / 1000);
      const ts = how === 'stale' ? now - 3_600 : now;
      const headers: Record<string, string> = { ...extra, 'content-type': type, 'webhook-id': id, 'webhook-timestamp': String(ts) };
      if (how === 'valid' || how === 'stale') headers['webhook-signature'] = signStandardWebhook(id, ts, raw, secret);
      if (how === 'forged') headers['webhook-signature'] = signStandardWebhook(id, ts, raw, 'whsec_Zm9yZ2VkZm9yZ2VkZm9yZ2VkZm9yZ2VkZm9yZ2Vk');
      if (how === 'several') headers['webhook-signature'] = `v1a,xyz v2,abc ${signStandardWebhook(id, ts, Buffer.from('other'), secret)} ${signStandardWebhook(id, ts, raw, secret)}`;
      if (how === 'garbage') headers['webhook-signature'] = 'v1,' + '='.repeat(5_000);
      if (headers['webhook-signature']) scanner.addSignature(headers['webhook-signature']);
      const res = await post(bridge.url, knownSource ? '/webhooks/hr' : '/webhooks/unknown%00source', headers, raw);
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      scanner.scan(`answer to ${id}`, res.text);
      if (res.status >= 500 || res.status < 200) {
        throw new Error(`delivery ${id} (${how} signature, ${type}, ${raw.length} bytes: ${raw.subarray(0, 200).toString('utf8')}) answered ${res.status}: ${res.text.slice(0, 500)}`);
      }
    });

    // The cases most likely to break a recursive serialiser or the size limit, always, with valid signatures.
    const directed: Array<[Buffer, string, string, Record<string, string>, number]> = [100_000, 10_000, 2_000].flatMap((d) => [
      [Buffer.from(`{"type":"employee.upserted","data":{"id":"E-deep-${d}","status":"active","custom":{"x":${deep(d, '1')}}}}`), 'valid', 'application/json', {}, 1],
      [Buffer.from(`{"type":"employee.upserted","data":{"id":"E-deep-${d}","status":"active","title":${deep(d, '"t"')}}}`), 'valid', 'application/json', {}, 1],
    ]);
    await fc.assert(property, { numRuns: Math.min(200, RUNS), seed: 42, examples: directed });
    const heapBefore = await settleHeap();
    const rssBefore = process.memoryUsage().rss;
    await fc.assert(property, { numRuns: RUNS });
    const heapAfter = await settleHeap();
    const rssAfter = process.memoryUsage().rss;
    console.log(`fuzz: ${n} requests ${JSON.stringify(Object.fromEntries(statuses))}; heap ${(heapBefore / 2 ** 20).toFixed(1)} -> ${(heapAfter / 2 ** 20).toFixed(1)} MB, rss ${(rssBefore / 2 ** 20).toFixed(0)} -> ${(rssAfter / 2 ** 20).toFixed(0)} MB`);

    expect(unhandled.map(String)).toEqual([]);
    expect(heapAfter - heapBefore, 'heap growth after GC').toBeLessThan(HEAP_GROWTH_LIMIT);
    expect(rssAfter - rssBefore, 'rss growth').toBeLessThan(4 * HEAP_GROWTH_LIMIT);
    const live = await fetch(`${bridge.url}/livez`);
    expect(live.status).toBe(200);
    expect(statuses.get(202) ?? 0, 'some generated deliveries were valid and accepted').toBeGreaterThan(0);
    expect(scanner.hits, scanner.report()).toEqual([]);
  }, pick(90_000, 1_800_000));
});
