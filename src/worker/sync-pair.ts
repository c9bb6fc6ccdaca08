import { hash } from 'node:crypto';
import { BridgeError, isBridgeError } from '../domain/errors.js';
import { decideLifecycle, isoDay, type DesiredState } from '../domain/lifecycle.js';
import type { ScimJson } from '../mapping/types.js';
import { withManager } from '../scim/manager.js';
import type { ScimUser } from '../scim/types.js';
import type { AuditEntry, ClaimedPair, PairApplied, Store } from '../store/index.js';
import { reconcileGroups, type GroupIntent, type GroupResolver } from './groups.js';
import type { TargetRuntime } from './target-runtime.js';

export interface SyncOutcome {
  action: string;
  applied: PairApplied;
  audit: AuditEntry[];
}

export class SyncFailure extends Error {
  constructor(
    readonly error: unknown,
    readonly partial: PairApplied,
    readonly audit: AuditEntry[],
  ) {
    super(error instanceof Error ? error.message : String(error));
  }
}

/**
 * Converges one (target, employee) pair: lifecycle decides, the mapping describes, SCIM does only
 * what differs. Throws SyncFailure carrying whatever was applied before the failure.
 */
export async function syncPair(pair: ClaimedPair, target: TargetRuntime, store: Store, groups: GroupResolver, now: number, owner: string): Promise<SyncOutcome> {
  const correlationId = pair.correlationId ?? 'scheduled';
  const applied: PairApplied = {
    scimId: pair.scimId,
    appliedHash: pair.appliedHash,
    appliedUser: pair.appliedUser,
    appliedGroups: [...pair.appliedGroups],
    state: pair.state,
    inactiveSince: pair.inactiveSince,
    nextCheckAt: null,
  };
  const audit: AuditEntry[] = [];
  const intent: GroupIntent = {
    intended: pair.intendedGroups,
    record: (names) => store.recordIntendedGroups(owner, pair.target, pair.employeeId, names),
  };
  const base = { correlationId, target: target.name, employeeId: pair.employeeId };
  const record = pair.record;
  if (!record) return { action: 'awaiting-record', applied, audit };

  const decision = decideLifecycle(record, target.policy, now, pair.inactiveSince, pair.scimId !== null);
  applied.nextCheckAt = decision.nextCheckAt;
  let desired: DesiredState = decision.desired;
  let action = 'noop';
  let unlinked: ScimUser | null = null;
  try {
    if (desired === 'none' && pair.scimId === null) {
      // A create whose answer never came back (a timeout, a reset, a crash of this process) leaves an
      // account the link does not know of; a leaver must not keep it active, so look before doing nothing.
      // A record too incomplete to map (a leaver without a work email) is still looked up by its id.
      const probe = await target.mapping.apply(record, { active: false, today: isoDay(now) }).then(
        (mapped) => mapped.user,
        (): ScimJson => ({ externalId: record.id }),
      );
      const found = await target.scim.findUser(String(probe.externalId ?? record.id), typeof probe.userName === 'string' ? probe.userName : undefined, correlationId);
      if (!found) {
        applied.state = 'none';
        return finish('none');
      }
      unlinked = found;
      desired = 'inactive';
    }
    const active = desired === 'active';
    const mapped = await target.mapping.apply(record, { active, today: isoDay(now) }).catch((error: unknown) => {
      // A leaver's record may be too sparse to map (a terminated upsert carrying only id and status).
      // Access must still end: deactivate the account as it was last applied.
      if (active || !pair.scimId || !pair.appliedUser || !isBridgeError(error) || !error.code.startsWith('MAPPING_')) throw error;
      return { user: { ...pair.appliedUser, active: false }, groups: [], managerEmployeeId: null };
    });
    const managerScimId = mapped.managerEmployeeId ? await store.scimIdOf(target.name, mapped.managerEmployeeId) : null;
    const user = withManager(mapped.user, target.mapping.profile, managerScimId);
    const wantedGroups = active && target.mapping.profile.groups ? [...new Set(mapped.groups)].sort() : [];
    const desiredHash = hash('sha256', JSON.stringify({ desired, user, wantedGroups }));
    // No applied hash on a linked account means an earlier sync did not finish (a crash, a lost lease, a
    // request whose answer never came): the account may differ from the last applied copy either way.
    const trusted = pair.appliedHash !== null;
    if (trusted && desiredHash === pair.appliedHash && pair.scimId !== null) return finish('noop');

    if (desired === 'deleted') {
      if (applied.scimId) {
        await reconcileGroups(target, groups, applied, [], correlationId, intent);
        await target.scim.deleteUser(applied.scimId, correlationId).catch((e: unknown) => {
          if (!isBridgeError(e, 'SCIM_NOT_FOUND')) throw e;
        });
      }
      Object.assign(applied, { scimId: null, appliedUser: null, appliedHash: desiredHash, state: 'deleted', appliedGroups: [] });
      return finish('delete');
    }

    const externalId = String(user.externalId ?? record.id);
    const userName = typeof user.userName === 'string' ? user.userName : undefined;
    let current: ScimJson | null = applied.scimId ? applied.appliedUser : null;
    if (applied.scimId && !trusted) {
      current = await target.scim.getUser(applied.scimId, correlationId);
      if (!current) Object.assign(applied, { scimId: null, appliedGroups: [] });
    }
    if (!applied.scimId) {
      // For a joiner, an externalId miss goes straight to POST: a compliant server answers 409 when the
      // userName is taken, and only then is the userName searched and the account adopted. One
      // round trip less per new account; a leaver is always searched both ways so no account is missed.
      const byExternalIdOnly = active && target.mapping.profile.userLookup.includes('externalId');
      const found = unlinked ?? (await target.scim.findUser(externalId, byExternalIdOnly ? undefined : userName, correlationId));
      if (found) {
        applied.scimId = found.id;
        current = found;
        action = 'adopt';
      } else if (active) {
        action = 'create';
        applied.scimId = await create(user, externalId, userName);
        current = user;
      } else {
        applied.state = 'none';
        return finish('none');
      }
    }
    if (action !== 'create' && applied.scimId) {
      const result = await update(applied.scimId, user, current ?? {}, externalId, userName);
      action = result ?? (action === 'adopt' ? 'adopt' : desired === 'inactive' && pair.state !== 'inactive' ? 'deactivate' : pair.state === 'inactive' && active ? 'reactivate' : 'update');
    }
    if (!applied.scimId) {
      applied.state = 'none';
      return finish(action);
    }
    applied.appliedUser = user;
    applied.state = desired;
    if (desired === 'inactive' && pair.state !== 'inactive') applied.inactiveSince = now;
    if (active) applied.inactiveSince = null;
    await reconcileGroups(target, groups, applied, wantedGroups, correlationId, intent, !trusted);
    applied.appliedHash = desiredHash;
    return finish(action);
  } catch (error) {
    // Whatever was sent before the failure may or may not have been applied; the next sync reads back.
    applied.appliedHash = null;
    audit.push({
      ...base,
      at: now,
      action: 'sync.failed',
      outcome: 'failure',
      details: { desired, reason: decision.reason, attempted: action, error: isBridgeError(error) ? error.toJSON() : { message: String(error) } },
    });
    throw new SyncFailure(error, applied, audit);
  }

  function finish(done: string): SyncOutcome {
    audit.push({ ...base, at: now, action: `sync.${done}`, outcome: target.mode === 'live' ? 'success' : 'dry-run', details: { desired, reason: decision.reason, scimId: applied.scimId, groups: applied.appliedGroups, nextCheckAt: decision.nextCheckAt } });
    return { action: done, applied, audit };
  }

  async function create(user: ScimJson, externalId: string, userName: string | undefined): Promise<string> {
    try {
      return (await target.scim.createUser(user, correlationId)).id;
    } catch (error) {
      if (!isBridgeError(error, 'SCIM_CONFLICT')) throw error;
      // Our own earlier create may have succeeded with its answer lost: adopt what is there.
      const existing = await target.scim.findUser(externalId, userName, correlationId);
      if (!existing) throw new BridgeError('SCIM_REJECTED', 'create answered 409 but no account with this externalId or userName can be found', { cause: error });
      action = 'adopt';
      await target.scim.updateUser(existing.id, user, existing, correlationId);
      return existing.id;
    }
  }

  async function update(id: string, user: ScimJson, current: ScimJson, externalId: string, userName: string | undefined): Promise<string | null> {
    try {
      await target.scim.updateUser(id, user, current, correlationId);
      return null;
    } catch (error) {
      if (!isBridgeError(error, 'SCIM_NOT_FOUND')) throw error;
      // Some servers answer 404 for an unsupported method; only a GET proves the account is gone.
      if (await target.scim.getUser(id, correlationId)) throw new BridgeError('SCIM_REJECTED', 'update answered 404 but the account still exists', { cause: error });
      applied.scimId = null;
      applied.appliedGroups = [];
      if (user.active !== true) return 'gone';
      applied.scimId = await create(user, externalId, userName);
      return 'recreate';
    }
  }
}
