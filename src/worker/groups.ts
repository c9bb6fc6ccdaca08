import { isBridgeError } from '../domain/errors.js';
import type { PairApplied, Store } from '../store/index.js';
import { MembershipBatcher } from './membership-batcher.js';
import type { TargetRuntime } from './target-runtime.js';

/**
 * Finds or creates a group's SCIM id at a target, once: concurrent syncs of two new members of a new
 * department share one lookup instead of racing to create the group twice.
 */
export class GroupResolver {
  private readonly inflight = new Map<string, Promise<string>>();
  readonly members = new MembershipBatcher();

  constructor(private readonly store: Store) {}

  resolve(target: TargetRuntime, displayName: string, correlationId: string): Promise<string> {
    const key = `${target.name}\u0000${displayName}`;
    let pending = this.inflight.get(key);
    if (!pending) {
      pending = this.lookup(target, displayName, correlationId).finally(() => this.inflight.delete(key));
      this.inflight.set(key, pending);
    }
    return pending;
  }

  async forget(target: TargetRuntime, displayName: string): Promise<void> {
    await this.store.forgetGroupId(target.name, displayName);
  }

  private async lookup(target: TargetRuntime, displayName: string, correlationId: string): Promise<string> {
    const cached = await this.store.groupId(target.name, displayName);
    if (cached) return cached;
    const group = (await target.scim.findGroup(displayName, correlationId)) ?? (await target.scim.createGroup(displayName, correlationId));
    if (target.mode === 'live') await this.store.saveGroupId(target.name, displayName, group.id);
    return group.id;
  }
}

/** Adds and removes this account's memberships one group at a time, recording progress as it goes. */
export async function reconcileGroups(target: TargetRuntime, groups: GroupResolver, applied: PairApplied, wanted: readonly string[], correlationId: string): Promise<void> {
  const scimId = applied.scimId;
  if (!scimId || !target.mapping.profile.groups) return;
  const have = new Set(applied.appliedGroups);
  for (const name of wanted) {
    if (have.has(name)) continue;
    await withGroup(target, groups, name, correlationId, (id) => groups.members.change(target, id, 'add', scimId, correlationId), true);
    have.add(name);
    applied.appliedGroups = [...have].sort();
  }
  const keep = new Set(wanted);
  for (const name of [...have]) {
    if (keep.has(name)) continue;
    await withGroup(target, groups, name, correlationId, (id) => groups.members.change(target, id, 'remove', scimId, correlationId), false);
    have.delete(name);
    applied.appliedGroups = [...have].sort();
  }
}

async function withGroup(target: TargetRuntime, groups: GroupResolver, name: string, correlationId: string, act: (groupId: string) => Promise<void>, recreate: boolean): Promise<void> {
  const id = await groups.resolve(target, name, correlationId);
  try {
    await act(id);
  } catch (error) {
    if (!isBridgeError(error, 'SCIM_NOT_FOUND')) throw error;
    // The group was deleted at the target behind our back: forget it; re-create it only to add.
    await groups.forget(target, name);
    if (recreate) await act(await groups.resolve(target, name, correlationId));
  }
}
