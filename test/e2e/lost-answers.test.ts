import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBridge, type BridgeHarness } from '../helpers/bridge.js';
import { startScimServer, type ScimServerHandle } from '../helpers/scim-servers/index.js';
import { FaultProxy } from '../reliability/support/fault-proxy.js';

type Json = Record<string, unknown>;

function employee(id: string, over: Json = {}): Json {
  return {
    id,
    version: 1,
    status: 'active',
    givenName: 'Lost',
    familyName: `Answer${id.replace(/\W/g, '')}`,
    workEmail: `${id.replace(/\W/g, '').toLowerCase()}@example.com`,
    title: 'Engineer',
    department: 'Engineering',
    startDate: '2026-01-05',
    ...over,
  };
}

/**
 * A write that reached the target but whose answer never came back (a timeout after the server
 * acted) leaves the account in a state the bridge did not record. The next change must be judged
 * against the account as it is, not as it was last confirmed.
 */
describe.each(['better-auth', 'scimmy'] as const)('answers lost after %s applied the write', (kind) => {
  let scim: ScimServerHandle;
  let proxy: FaultProxy;
  let bridge: BridgeHarness;
  const user = async (id: string) => (await scim.listUsers()).find((u) => u.externalId === id);
  const members = async (group: string) => ((await scim.listGroups()).find((g) => g.displayName === group)?.members as Array<{ value: string }> | undefined)?.map((m) => m.value) ?? [];
  const afterRetryDelay = () => bridge.clock.set(bridge.clock.now() + 10 * 60_000);

  beforeAll(async () => {
    scim = await startScimServer(kind);
    proxy = new FaultProxy(scim.baseUrl, scim.token, scim.token, { serverError: 0, throttle: 0, hang: 0, reset: 0, conflict: 0 }, Math.random);
    await proxy.start();
    bridge = await startBridge({ targets: [{ name: 'app', baseUrl: proxy.baseUrl, token: scim.token, timeoutMs: 400 }] });
  });
  afterAll(async () => {
    await bridge?.close();
    await proxy?.stop();
    await scim?.stop();
  });

  it('reactivates an account whose deactivation was applied with its answer lost, when the leaver is reinstated', async () => {
    await bridge.send(employee('E-1'));
    await bridge.settle();
    expect((await user('E-1'))?.active).toBe(true);

    proxy.scripted.push({ method: 'PATCH', path: /\/Users\//, fault: 'hang', afterForward: true });
    await bridge.send(employee('E-1', { version: 2, status: 'terminated', endDate: '2026-12-01' }));
    await bridge.settle();
    expect(proxy.scripted).toEqual([]);
    expect((await user('E-1'))?.active).toBe(false);

    // The termination is withdrawn: the record is the first one again, so its mapping hashes the same.
    await bridge.send(employee('E-1', { version: 3 }));
    afterRetryDelay();
    await bridge.settle();
    expect((await user('E-1'))?.active).toBe(true);
  });

  it('puts back a title whose change was applied with its answer lost, when the change is reverted', async () => {
    await bridge.send(employee('E-2'));
    await bridge.settle();
    proxy.scripted.push({ method: 'PATCH', path: /\/Users\//, fault: 'reset', afterForward: true });
    await bridge.send(employee('E-2', { version: 2, title: 'Manager' }));
    await bridge.settle();
    expect((await user('E-2'))?.title).toBe('Manager');

    await bridge.send(employee('E-2', { version: 3 }));
    afterRetryDelay();
    await bridge.settle();
    expect((await user('E-2'))?.title).toBe('Engineer');
  });

  it('puts a mover moved back into the group whose leaving was applied with its answer lost', async () => {
    await bridge.send(employee('E-4'));
    await bridge.settle();
    const id = (await user('E-4'))!.id as string;
    const engineering = (await scim.listGroups()).find((g) => g.displayName === 'dept-engineering')!.id as string;
    proxy.scripted.push({ method: 'PATCH', path: new RegExp(`/Groups/${engineering}$`), fault: 'hang', afterForward: true });
    await bridge.send(employee('E-4', { version: 2, department: 'Finance' }));
    await bridge.settle();
    expect(proxy.scripted).toEqual([]);
    expect(await members('dept-engineering')).not.toContain(id);

    await bridge.send(employee('E-4', { version: 3 }));
    afterRetryDelay();
    await bridge.settle();
    expect(await members('dept-engineering')).toContain(id);
    expect(await members('dept-finance')).not.toContain(id);
  });

  it('takes a mover back out of a group whose join was applied with its answer lost', async () => {
    await bridge.send(employee('E-3'));
    await bridge.settle();
    const id = (await user('E-3'))!.id as string;
    proxy.scripted.push({ method: 'PATCH', path: /\/Groups\//, fault: 'hang', afterForward: true });
    await bridge.send(employee('E-3', { version: 2, department: 'Finance' }));
    await bridge.settle();
    expect(await members('dept-finance')).toContain(id);

    await bridge.send(employee('E-3', { version: 3 }));
    afterRetryDelay();
    await bridge.settle();
    expect(await members('dept-finance')).not.toContain(id);
    expect(await members('dept-engineering')).toContain(id);
  });
});
