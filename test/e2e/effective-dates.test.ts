import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBridge, type BridgeHarness } from '../helpers/bridge.js';
import { startScimServer, type ScimServerHandle } from '../helpers/scim-servers/index.js';

const DAY_MS = 86_400_000;
type Json = Record<string, unknown>;

function employee(id: string, over: Json = {}): Json {
  const slug = id.replace(/\W/g, '').toLowerCase();
  return {
    id,
    version: 1,
    status: 'active',
    givenName: 'Test',
    familyName: `Person${slug}`,
    workEmail: `${slug}@example.com`,
    title: 'Engineer',
    department: 'Engineering',
    startDate: '2026-01-05',
    endDate: null,
    ...over,
  };
}

/**
 * Three targets that differ only in lifecycle policy, each its own SCIM server so their accounts
 * cannot be confused: the default policy, accounts two days before the start date, and deletion
 * after a five-day grace period. Nothing but the clock moves between the steps of a test.
 */
describe.each(['better-auth', 'scimmy'] as const)('effective dates on %s', (kind) => {
  const servers: Record<'plain' | 'early' | 'grace', ScimServerHandle | undefined> = { plain: undefined, early: undefined, grace: undefined };
  let bridge: BridgeHarness;

  const server = (name: keyof typeof servers) => servers[name]!;
  const account = async (name: keyof typeof servers, externalId: string) =>
    (await server(name).listUsers()).find((u) => u.externalId === externalId);
  const inGroup = async (name: keyof typeof servers, group: string, scimId: unknown) => {
    const g = (await server(name).listGroups()).find((x) => x.displayName === group);
    return ((g?.members as Array<{ value: string }> | undefined) ?? []).some((m) => m.value === scimId);
  };
  const day = (offset: number) => new Date(bridge.clock.now() + offset * DAY_MS).toISOString().slice(0, 10);

  beforeAll(async () => {
    const [plain, early, grace] = await Promise.all([startScimServer(kind), startScimServer(kind), startScimServer(kind)]);
    Object.assign(servers, { plain, early, grace });
    bridge = await startBridge({
      targets: [
        { name: 'plain', baseUrl: plain.baseUrl, token: plain.token },
        { name: 'early', baseUrl: early.baseUrl, token: early.token, policy: { preStartDays: 2 } },
        { name: 'grace', baseUrl: grace.baseUrl, token: grace.token, policy: { delete: 'after-grace', graceDays: 5 } },
      ],
    });
  });
  afterAll(async () => {
    await bridge?.close();
    await Promise.all(Object.values(servers).map((s) => s?.stop()));
  });

  it('keeps a leaver dated tomorrow active today and deactivates them tomorrow without a new webhook', async () => {
    expect((await bridge.send(employee('T-1'))).status).toBe(202);
    await bridge.settle();
    const created = await account('plain', 'T-1');
    expect(created?.active).toBe(true);

    await bridge.send(employee('T-1', { version: 2, status: 'terminated', endDate: day(1) }));
    await bridge.settle();
    for (const target of ['plain', 'early', 'grace'] as const) {
      const user = await account(target, 'T-1');
      expect(user?.active, target).toBe(true);
      expect(await inGroup(target, 'dept-engineering', user?.id), target).toBe(true);
    }

    bridge.clock.advanceDays(1);
    expect(await bridge.settle()).toBeGreaterThan(0);
    for (const target of ['plain', 'early', 'grace'] as const) {
      const user = await account(target, 'T-1');
      expect(user?.active, target).toBe(false);
      expect(await inGroup(target, 'dept-engineering', user?.id), target).toBe(false);
    }
    expect((await account('plain', 'T-1'))?.id).toBe(created?.id);
  });

  it('creates a pending hire on the start date, or as many days earlier as the target policy says', async () => {
    await bridge.send(employee('P-1', { status: 'pending', startDate: day(3) }));
    await bridge.settle();
    const present = async () => ({
      plain: (await account('plain', 'P-1'))?.active ?? 'none',
      early: (await account('early', 'P-1'))?.active ?? 'none',
      grace: (await account('grace', 'P-1'))?.active ?? 'none',
    });
    expect(await present()).toEqual({ plain: 'none', early: 'none', grace: 'none' });

    bridge.clock.advanceDays(1);
    await bridge.settle();
    expect(await present()).toEqual({ plain: 'none', early: true, grace: 'none' });

    bridge.clock.advanceDays(1);
    await bridge.settle();
    expect(await present()).toEqual({ plain: 'none', early: true, grace: 'none' });

    bridge.clock.advanceDays(1);
    await bridge.settle();
    expect(await present()).toEqual({ plain: true, early: true, grace: true });
    expect(await inGroup('plain', 'dept-engineering', (await account('plain', 'P-1'))?.id)).toBe(true);
  });

  it('deletes a deactivated account only where the policy says so, and only after the grace days', async () => {
    await bridge.send(employee('G-1'));
    await bridge.settle();
    await bridge.send(employee('G-1', { version: 2, status: 'terminated', endDate: day(0) }));
    await bridge.settle();
    for (const target of ['plain', 'early', 'grace'] as const) expect((await account(target, 'G-1'))?.active, target).toBe(false);

    bridge.clock.advanceDays(4);
    await bridge.settle();
    expect((await account('grace', 'G-1'))?.active).toBe(false);

    bridge.clock.advanceDays(1);
    await bridge.settle();
    expect(await account('grace', 'G-1')).toBeUndefined();
    expect((await account('plain', 'G-1'))?.active).toBe(false);
    expect((await account('early', 'G-1'))?.active).toBe(false);
    // T-1 left on the first day of this run, long enough ago to be past its grace period too.
    expect(await account('grace', 'T-1')).toBeUndefined();
    expect((await account('plain', 'T-1'))?.active).toBe(false);
  });
});
