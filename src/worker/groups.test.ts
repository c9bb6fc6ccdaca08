import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startScimServer, type ScimServerHandle } from '../../test/helpers/scim-servers/index.js';
import { defaultPolicy, loadMappings } from '../mapping/index.js';
import { createScimTarget } from '../scim/index.js';
import { openStore, type PairApplied, type Store } from '../store/index.js';
import { GroupResolver, reconcileGroups } from './groups.js';
import type { TargetRuntime } from './target-runtime.js';

/**
 * Two replicas' group resolvers on one store and one real SCIM server: what one replica remembers of a
 * group must never keep a member in a group the other has since replaced.
 */
describe('group ids shared by replicas', () => {
  let scim: ScimServerHandle;
  let dir: string;
  let target: TargetRuntime;
  const stores: Store[] = [];

  beforeAll(async () => {
    scim = await startScimServer('scimmy');
    dir = mkdtempSync(join(tmpdir(), 'groups-'));
    const mapping = [...(await loadMappings([join(process.cwd(), 'mappings/generic.yaml')])).values()][0]!;
    const client = createScimTarget({ target: 'app', baseUrl: scim.baseUrl, token: () => scim.token, profile: mapping.profile, mode: 'live', timeoutMs: 5_000, userAgent: 'test' });
    target = { name: 'app', mode: 'live', scim: client, mapping, policy: defaultPolicy, credentialFingerprint: () => 'fp' };
    for (let i = 0; i < 2; i += 1) stores.push(await openStore(`sqlite:${join(dir, 'bridge.db')}`));
  });
  afterAll(async () => {
    await target?.scim.close();
    for (const s of stores) await s.close();
    await scim?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const members = async (name: string) => (await scim.listGroups()).filter((g) => g.displayName === name).map((g) => ((g.members as Array<{ value: string }> | undefined) ?? []).map((m) => m.value));
  const applied = (scimId: string, groups: string[]): PairApplied => ({ scimId, appliedHash: null, appliedUser: null, appliedGroups: groups, state: 'active', inactiveSince: null, nextCheckAt: null });

  it('takes a leaver out of the group another replica re-created after it was deleted at the target', async () => {
    const [a, b] = [new GroupResolver(stores[0]!), new GroupResolver(stores[1]!)];
    const user = await target.scim.createUser({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: 'leaver@example.com', externalId: 'E-1', active: true });

    // Replica A creates the group and joins the user; replica B learns the same id.
    await reconcileGroups(target, a, applied(user.id, []), ['dept-legal'], 'c1');
    const first = await b.resolve(target, 'dept-legal', 'c2');
    expect(await members('dept-legal')).toEqual([[user.id]]);

    // The group is deleted at the target. B's next join finds out, re-creates it and joins again.
    const removed = await fetch(`${scim.baseUrl}/Groups/${first}`, { method: 'DELETE', headers: { authorization: `Bearer ${scim.token}` } });
    expect(removed.status).toBe(204);
    await reconcileGroups(target, b, applied(user.id, []), ['dept-legal'], 'c3');
    expect(await members('dept-legal')).toEqual([[user.id]]);

    // The employee leaves, and A, which last saw the deleted group, runs the sync.
    const leaving = applied(user.id, ['dept-legal']);
    await reconcileGroups(target, a, leaving, [], 'c4');
    expect(await members('dept-legal')).toEqual([[]]);
    expect(leaving.appliedGroups).toEqual([]);
  });

  it('forgets a deleted group for every replica that joins it next', async () => {
    const [a, b] = [new GroupResolver(stores[0]!), new GroupResolver(stores[1]!)];
    const [u1, u2] = await Promise.all(['j1', 'j2'].map((n, i) => target.scim.createUser({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: `${n}@example.com`, externalId: `E-J${i}`, active: true })));
    await reconcileGroups(target, a, applied(u1!.id, []), ['dept-ops'], 'c1');
    const first = await b.resolve(target, 'dept-ops', 'c2');
    await fetch(`${scim.baseUrl}/Groups/${first}`, { method: 'DELETE', headers: { authorization: `Bearer ${scim.token}` } });

    // A re-creates the group; B, which still remembers the deleted one, joins the new one.
    await reconcileGroups(target, a, applied(u1!.id, []), ['dept-ops'], 'c3');
    await reconcileGroups(target, b, applied(u2!.id, []), ['dept-ops'], 'c4');
    const groups = await members('dept-ops');
    expect(groups).toHaveLength(1);
    expect([...groups[0]!].sort()).toEqual([u1!.id, u2!.id].sort());
  });
});
