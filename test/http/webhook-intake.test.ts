import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { KyselyStore } from '../../src/store/kysely-store.js';
import { startBridge, type BridgeHarness } from '../helpers/bridge.js';
import { newStandardWebhookSecret, signStandardWebhook, standardWebhookHeaders } from '../helpers/signing.js';

type Json = Record<string, unknown>;
type Response = Awaited<ReturnType<BridgeHarness['post']>>;

// No SCIM traffic is needed to judge intake; port 9 (discard) would refuse it anyway.
const DRY_RUN_TARGET = { name: 'app', baseUrl: 'http://127.0.0.1:9/scim/v2', token: 'dry-run-token', mode: 'dry-run' as const };

function employee(id: string, over: Json = {}): Json {
  return { id, version: 1, status: 'active', givenName: 'Ada', familyName: 'Lovelace', workEmail: `${id.toLowerCase()}@example.com`, department: 'Engineering', ...over };
}

function envelope(bridge: BridgeHarness, data: Json, type = 'employee.upserted'): string {
  return JSON.stringify({ type, timestamp: new Date(bridge.clock.now()).toISOString(), data });
}

let ids = 0;
function nextId(): string {
  ids += 1;
  return `msg_intake_${ids}_${Math.random().toString(36).slice(2)}`;
}

/** A correctly signed delivery of an arbitrary body, so that schema checks are reached. */
function signedPost(bridge: BridgeHarness, body: string, opts: { source?: string; id?: string; contentType?: string; secret?: string } = {}): Promise<Response> {
  const id = opts.id ?? nextId();
  const headers = standardWebhookHeaders(id, Math.floor(bridge.clock.now() / 1000), body, opts.secret ?? bridge.secret);
  if (opts.contentType) headers['content-type'] = opts.contentType;
  return bridge.post(`/webhooks/${opts.source ?? 'hr'}`, headers, body);
}

async function deliveryRows(bridge: BridgeHarness) {
  return (bridge.app.store as KyselyStore).db.selectFrom('deliveries').selectAll().orderBy('id').execute();
}

/**
 * What every refusal must look like: JSON with a stable error code, and nothing of the request's
 * signature reflected back (a reflected MAC helps an attacker and ends up in proxies' logs).
 */
function expectRefusal(res: Response, status: number, code: string, sent: Record<string, string> = {}): void {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  expect((res.body.error as Json | undefined)?.code).toBe(code);
  const text = JSON.stringify(res.body);
  const signature = sent['webhook-signature'];
  if (signature) {
    expect(text).not.toContain(signature);
    for (const entry of signature.split(' ')) expect(text).not.toContain(entry.slice(entry.indexOf(',') + 1));
  }
}

describe('POST /webhooks/:source', () => {
  let bridge: BridgeHarness;
  const oldSecret = newStandardWebhookSecret();
  const newSecret = newStandardWebhookSecret();
  const start = Date.parse('2026-12-04T10:00:00Z');

  beforeAll(async () => {
    bridge = await startBridge({
      targets: [DRY_RUN_TARGET],
      sources: [{ name: 'rotating', type: 'standard-webhooks', secret: [oldSecret, newSecret] }],
    });
  });
  afterAll(async () => {
    await bridge?.close();
  });
  afterEach(() => {
    bridge.clock.set(start);
  });

  it('accepts a signed delivery with 202, stores the record and marks its pair dirty', async () => {
    const res = await bridge.send(employee('E-100'));
    expect(res.status).toBe(202);
    expect(res.body.status).toBe('accepted');
    expect(res.body.deliveryId).toBe(res.id);
    expect(res.body.correlationId).toMatch(/^[0-9a-f-]{36}$/);

    const status = await bridge.app.store.employeeStatus('E-100');
    expect(status.record?.id).toBe('E-100');
    expect(status.record?.workEmail).toBe('e-100@example.com');
    expect(status.pairs).toHaveLength(1);
    expect(status.pairs[0]).toMatchObject({ target: 'app', dirty: true });

    const rows = (await deliveryRows(bridge)).filter((r) => r.delivery_id === res.id);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ source: 'hr', outcome: 'accepted', correlation_id: res.body.correlationId, body: null });
  });

  it('refuses a wrong signature with 401 and stores nothing', async () => {
    const before = (await deliveryRows(bridge)).length;
    const body = envelope(bridge, employee('E-101'));
    const headers = standardWebhookHeaders(nextId(), Math.floor(bridge.clock.now() / 1000), body, newStandardWebhookSecret());
    const res = await bridge.post('/webhooks/hr', headers, body);
    expectRefusal(res, 401, 'HRIS_SIGNATURE_INVALID', headers);
    expect(await bridge.app.store.employeeStatus('E-101')).toEqual({ record: null, pairs: [] });
    expect(await deliveryRows(bridge)).toHaveLength(before);
  });

  it('refuses a body altered after signing, keeping the signature out of the answer', async () => {
    const body = envelope(bridge, employee('E-102'));
    const headers = standardWebhookHeaders(nextId(), Math.floor(bridge.clock.now() / 1000), body, bridge.secret);
    const res = await bridge.post('/webhooks/hr', headers, body.replace('Ada', 'Eve'));
    expectRefusal(res, 401, 'HRIS_SIGNATURE_INVALID', headers);
    expect((await bridge.app.store.employeeStatus('E-102')).record).toBeNull();
  });

  it('refuses a delivery without signature headers with 401', async () => {
    const before = (await deliveryRows(bridge)).length;
    const body = envelope(bridge, employee('E-103'));
    const res = await bridge.post('/webhooks/hr', { 'content-type': 'application/json' }, body);
    expectRefusal(res, 401, 'HRIS_SIGNATURE_MISSING');

    const signed = standardWebhookHeaders(nextId(), Math.floor(bridge.clock.now() / 1000), body, bridge.secret);
    const { 'webhook-timestamp': _dropped, ...withoutTimestamp } = signed;
    expectRefusal(await bridge.post('/webhooks/hr', withoutTimestamp, body), 401, 'HRIS_TIMESTAMP_INVALID', signed);

    expect((await bridge.app.store.employeeStatus('E-103')).record).toBeNull();
    expect(await deliveryRows(bridge)).toHaveLength(before);
  });

  it('refuses a delivery signed 6 minutes before it arrives with 401 HRIS_TIMESTAMP_INVALID', async () => {
    const before = (await deliveryRows(bridge)).length;
    const body = envelope(bridge, employee('E-104'));
    const headers = standardWebhookHeaders(nextId(), Math.floor(bridge.clock.now() / 1000), body, bridge.secret);
    bridge.clock.set(start + 6 * 60_000);
    const res = await bridge.post('/webhooks/hr', headers, body);
    expectRefusal(res, 401, 'HRIS_TIMESTAMP_INVALID', headers);
    expect((await bridge.app.store.employeeStatus('E-104')).record).toBeNull();
    expect(await deliveryRows(bridge)).toHaveLength(before);

    // The same delivery inside the 5 minute tolerance is fine: the refusal above is about age alone.
    bridge.clock.set(start + 4 * 60_000);
    expect((await bridge.post('/webhooks/hr', headers, body)).status).toBe(202);
  });

  it.each([
    ['an unknown status', (b: BridgeHarness) => envelope(b, employee('E-105', { status: 'fired' })), ['data', 'status']],
    ['no data.id', (b: BridgeHarness) => envelope(b, { version: 1, status: 'active' }), ['data', 'id']],
    ['a malformed startDate', (b: BridgeHarness) => envelope(b, employee('E-106', { startDate: '05/01/2026' })), ['data', 'startDate']],
  ] as const)('refuses a signed body with %s with 400 naming the path, and keeps it for inspection', async (_what, make, path) => {
    const body = make(bridge);
    const res = await signedPost(bridge, body);
    expectRefusal(res, 400, 'HRIS_PAYLOAD_INVALID');
    const issues = (res.body.error as Json).issues as Array<{ path: unknown[]; message: string }>;
    expect(issues.map((i) => i.path)).toContainEqual(path);

    const kept = (await deliveryRows(bridge)).filter((r) => r.correlation_id === res.body.correlationId);
    expect(kept).toHaveLength(1);
    expect(kept[0]).toMatchObject({ source: 'hr', outcome: 'rejected', body });
    expect(kept[0]!.error).toContain('HRIS_PAYLOAD_INVALID');
  });

  it('refuses signed text that is not JSON with 400 and keeps the text', async () => {
    const body = 'status=fired&id=E-107';
    const res = await signedPost(bridge, body, { contentType: 'text/plain' });
    expectRefusal(res, 400, 'HRIS_PAYLOAD_INVALID');
    const issues = (res.body.error as Json).issues as Array<{ path: unknown[]; message: string }>;
    expect(issues).toEqual([{ path: [], message: expect.stringContaining('JSON') as unknown }]);
    const kept = (await deliveryRows(bridge)).filter((r) => r.correlation_id === res.body.correlationId);
    expect(kept).toEqual([expect.objectContaining({ outcome: 'rejected', body })]);
  });

  it('keeps no body of a forged delivery, however malformed', async () => {
    const before = await deliveryRows(bridge);
    const res = await signedPost(bridge, 'not json at all', { secret: newStandardWebhookSecret() });
    expectRefusal(res, 401, 'HRIS_SIGNATURE_INVALID');
    expect(await deliveryRows(bridge)).toEqual(before);
  });

  it('refuses a body over 256 KiB with 413 HRIS_PAYLOAD_TOO_LARGE', async () => {
    const before = (await deliveryRows(bridge)).length;
    const body = envelope(bridge, employee('E-108', { custom: { padding: 'x'.repeat(257 * 1024) } }));
    const headers = standardWebhookHeaders(nextId(), Math.floor(bridge.clock.now() / 1000), body, bridge.secret);
    const res = await bridge.post('/webhooks/hr', headers, body);
    expectRefusal(res, 413, 'HRIS_PAYLOAD_TOO_LARGE', headers);
    expect((await bridge.app.store.employeeStatus('E-108')).record).toBeNull();
    expect(await deliveryRows(bridge)).toHaveLength(before);
  });

  it('refuses an unknown source with 404 HRIS_SOURCE_UNKNOWN', async () => {
    const body = envelope(bridge, employee('E-109'));
    const res = await signedPost(bridge, body, { source: 'payroll' });
    expectRefusal(res, 404, 'HRIS_SOURCE_UNKNOWN');
    expect((await bridge.app.store.employeeStatus('E-109')).record).toBeNull();
  });

  it.each(['text/html', 'application/xml', 'application/x-www-form-urlencoded'])('refuses content type %s with 415', async (contentType) => {
    const body = envelope(bridge, employee('E-110'));
    const headers = { ...standardWebhookHeaders(nextId(), Math.floor(bridge.clock.now() / 1000), body, bridge.secret), 'content-type': contentType };
    const res = await bridge.post('/webhooks/hr', headers, body);
    expectRefusal(res, 415, 'HRIS_CONTENT_TYPE', headers);
    expect((await bridge.app.store.employeeStatus('E-110')).record).toBeNull();
  });

  it('answers a repeated webhook-id with 200 duplicate and keeps exactly one accepted row', async () => {
    const first = await bridge.send(employee('E-111', { title: 'Engineer' }));
    expect(first.status).toBe(202);
    const again = await bridge.send(employee('E-111', { title: 'Engineer' }), { id: first.id });
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ status: 'duplicate', deliveryId: first.id });
    const rows = (await deliveryRows(bridge)).filter((r) => r.delivery_id === first.id);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.outcome).toBe('accepted');
  });

  it('does not treat the same webhook-id from another source as a duplicate', async () => {
    const id = nextId();
    expect((await signedPost(bridge, envelope(bridge, employee('E-112')), { id })).status).toBe(202);
    const other = await signedPost(bridge, envelope(bridge, employee('E-112', { version: 2 })), { id, source: 'rotating', secret: newSecret });
    expect(other.status).toBe(202);
    expect((await deliveryRows(bridge)).filter((r) => r.delivery_id === id).map((r) => r.source).sort()).toEqual(['hr', 'rotating']);
  });

  it('accepts a delivery signed with either secret of a rotating source, and no other', async () => {
    const byOld = await signedPost(bridge, envelope(bridge, employee('E-113')), { source: 'rotating', secret: oldSecret });
    expect(byOld.status).toBe(202);
    const byNew = await signedPost(bridge, envelope(bridge, employee('E-114')), { source: 'rotating', secret: newSecret });
    expect(byNew.status).toBe(202);
    expect((await bridge.app.store.employeeStatus('E-113')).record?.id).toBe('E-113');
    expect((await bridge.app.store.employeeStatus('E-114')).record?.id).toBe('E-114');

    // The other source's secret is not a third key of this one.
    const crossed = await signedPost(bridge, envelope(bridge, employee('E-115')), { source: 'rotating', secret: bridge.secret });
    expectRefusal(crossed, 401, 'HRIS_SIGNATURE_INVALID');
    expect((await bridge.app.store.employeeStatus('E-115')).record).toBeNull();
  });

  it('accepts a header carrying several signatures when one of them matches', async () => {
    const body = envelope(bridge, employee('E-116'));
    const id = nextId();
    const ts = Math.floor(bridge.clock.now() / 1000);
    const wrong = signStandardWebhook(id, ts, body, newStandardWebhookSecret());
    const right = signStandardWebhook(id, ts, body, newSecret);
    const headers = { 'content-type': 'application/json', 'webhook-id': id, 'webhook-timestamp': String(ts), 'webhook-signature': `${wrong} ${right}` };
    expect((await bridge.post('/webhooks/rotating', headers, body)).status).toBe(202);
  });
});

describe('POST /webhooks/:source when the store fails', () => {
  let bridge: BridgeHarness;

  beforeAll(async () => {
    bridge = await startBridge({ targets: [DRY_RUN_TARGET] });
  });
  afterAll(async () => {
    await bridge?.close().catch(() => undefined);
  });

  it('answers 503 with Retry-After when the store rejects the intake, and keeps serving', async () => {
    const store = bridge.app.store;
    const intake = store.intake.bind(store);
    // Only the route's handling of a failing store is under test here, so the store method is swapped on this instance.
    store.intake = () => Promise.reject(new Error('SQLITE_BUSY: database is locked'));
    try {
      const res = await signedPost(bridge, envelope(bridge, employee('E-200')));
      expect(res.status).toBe(503);
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
      expect((res.body.error as Json).code).toBe('STORE_UNAVAILABLE');
      expect(JSON.stringify(res.body)).not.toContain('SQLITE_BUSY');
    } finally {
      store.intake = intake;
    }
    expect(await bridge.app.store.employeeStatus('E-200')).toEqual({ record: null, pairs: [] });
    const later = await bridge.send(employee('E-200'));
    expect(later.status).toBe(202);
  });

  it('answers 503 with Retry-After once the database itself is gone, without crashing', async () => {
    const body = envelope(bridge, employee('E-201'));
    const headers = standardWebhookHeaders(nextId(), Math.floor(bridge.clock.now() / 1000), body, bridge.secret);
    await (bridge.app.store as KyselyStore).db.destroy();
    const res = await bridge.post('/webhooks/hr', headers, body);
    expect(res.status).toBe(503);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((res.body.error as Json).code).toBe('STORE_UNAVAILABLE');

    // The process is still up and answering.
    const live = await fetch(`${bridge.url}/livez`);
    expect(live.status).toBe(200);
    expect(bridge.logs.some((l) => l.includes('"delivery.store"'))).toBe(true);
  });
});
