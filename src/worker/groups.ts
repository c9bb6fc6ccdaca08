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
  /**
   * Ids of live targets' groups this process has read or saved: a load joins thousands of members to a
   * few groups, and each look-up was a store round trip. An id another replica replaced answers 404,
   * which forgets it here and in the store, and the next look-up finds the group at the target.
   */
  private readonly known = new Map<string, string>();
  constructor(
    private readonly store: Store,
    readonly members: MembershipBatcher = new MembershipBatcher(),
  ) {}

  resolve(target: TargetRuntime, displayName: string, correlationId: string): Promise<string> {
    const key = groupKey(target, displayName);
    const known = this.known.get(key);
    if (known) return Promise.resolve(known);
    let pending = this.inflight.get(key);
    if (!pending) {
      pending = this.lookup(target, displayName, correlationId).finally(() => this.inflight.delete(key));
      this.inflight.set(key, pending);
    }
    return pending;
  }

  /**
   * The group's id when it exists, without creating it. Read from the store, not the process: a
   * removal sent to an id another replica has since replaced would leave the member in the new group.
   */
  async existing(target: TargetRuntime, displayName: string, correlationId: string): Promise<string | null> {
    const stored = await this.stored(target, displayName);
    if (stored) return stored;
    return (await target.scim.findGroup(displayName, correlationId))?.id ?? null;
  }

  /** The target answered 404 for `scimId`: forget that id, here and in the store, and nothing newer. */
  async forget(target: TargetRuntime, displayName: string, scimId: string): Promise<void> {
    const key = groupKey(target, displayName);
    if (this.known.get(key) === scimId) this.known.delete(key);
    await this.store.forgetGroupId(target.name, displayName, scimId);
  }

  private async lookup(target: TargetRuntime, displayName: string, correlationId: string): Promise<string> {
    const stored = await this.stored(target, displayName);
    if (stored) return stored;
    const group = (await target.scim.findGroup(displayName, correlationId)) ?? (await target.scim.createGroup(displayName, correlationId));
    if (target.mode !== 'live') return group.id;
    // Another replica may have recorded this group first: everyone uses the id on record.
    const recorded = await this.store.saveGroupId(target.name, displayName, group.id);
    this.known.set(groupKey(target, displayName), recorded);
    return recorded;
  }

  private async stored(target: TargetRuntime, displayName: string): Promise<string | null> {
    const id = await this.store.groupId(target.name, displayName);
    if (id && target.mode === 'live') this.known.set(groupKey(target, displayName), id);
    return id;
  }
}

const groupKey = (target: TargetRuntime, displayName: string) => `${target.name}\u0000${displayName}`;

/** Where a sync's membership changes are noted before they are sent (a lost answer must not be forgotten). */
export interface GroupIntent {
  /** Groups an earlier sync set out to join without confirming it. */
  intended: readonly string[];
  record(groups: readonly string[]): Promise<void>;
}

/**
 * Adds and removes this account's memberships one group at a time, recording progress as it goes.
 * Removals cover the groups joined for certain and those an earlier sync may have joined: taking a
 * member out of a group it never reached is harmless, leaving a leaver in one is not.
 */
export async function reconcileGroups(
  target: TargetRuntime,
  groups: GroupResolver,
  applied: PairApplied,
  wanted: readonly string[],
  correlationId: string,
  intent?: GroupIntent,
  /** After a sync that did not finish, a removal may have landed unconfirmed: join every wanted group again. */
  uncertain = false,
): Promise<void> {
  const scimId = applied.scimId;
  if (!scimId || !target.mapping.profile.groups) return;
  const have = new Set(applied.appliedGroups);
  const maybe = new Set([...have, ...(intent?.intended ?? [])]);
  const joining = uncertain ? [...wanted] : wanted.filter((name) => !have.has(name));
  if (intent && target.mode === 'live' && joining.some((name) => !maybe.has(name))) {
    await intent.record([...new Set([...maybe, ...joining])].sort());
  }
  for (const name of joining) {
    await withGroup(target, groups, name, correlationId, (id) => groups.members.change(target, id, 'add', scimId, correlationId), true);
    have.add(name);
    applied.appliedGroups = [...have].sort();
  }
  const keep = new Set(wanted);
  for (const name of [...maybe]) {
    if (keep.has(name)) continue;
    await withGroup(target, groups, name, correlationId, (id) => groups.members.change(target, id, 'remove', scimId, correlationId), false);
    have.delete(name);
    applied.appliedGroups = [...have].sort();
  }
}

async function withGroup(target: TargetRuntime, groups: GroupResolver, name: string, correlationId: string, act: (groupId: string) => Promise<void>, joining: boolean): Promise<void> {
  const id = joining ? await groups.resolve(target, name, correlationId) : await groups.existing(target, name, correlationId);
  // Nobody can be a member of a group that does not exist: nothing to leave.
  if (id === null) return;
  try {
    await act(id);
  } catch (error) {
    if (!isBridgeError(error, 'SCIM_NOT_FOUND')) throw error;
    // The group was deleted at the target behind our back: forget it; re-create it only to join. A
    // removal looks again, since another replica may have found or made the group under a new id.
    await groups.forget(target, name, id);
    if (joining) return act(await groups.resolve(target, name, correlationId));
    const again = await groups.existing(target, name, correlationId);
    if (again !== null && again !== id) await act(again);
  }
}
