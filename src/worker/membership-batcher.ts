import { isBridgeError } from '../domain/errors.js';
import type { ScimExchange } from '../scim/types.js';
import { syncContext } from './sync-context.js';
import type { TargetRuntime } from './target-runtime.js';

type Op = 'add' | 'remove';

interface Waiter {
  userId: string;
  resolve: () => void;
  reject: (error: unknown) => void;
  exchanges: ScimExchange[] | undefined;
}

interface Pending {
  target: TargetRuntime;
  groupId: string;
  op: Op;
  correlationId: string;
  waiters: Waiter[];
  timer: NodeJS.Timeout;
}

/** How long a membership change waits for others to the same group before it is sent. */
const WINDOW_MS = 100;

/**
 * Membership changes to one group from syncs running at the same time go out as one PATCH (up to the
 * target's chunk size) instead of one each: during an initial load that is a hundredth of the group
 * requests. Each sync still waits for its own change to be confirmed, and each sync's audit trail
 * gets the request that carried it.
 */
export class MembershipBatcher {
  private readonly pending = new Map<string, Pending>();

  change(target: TargetRuntime, groupId: string, op: Op, userId: string, correlationId: string): Promise<void> {
    const key = `${target.name}\u0000${groupId}\u0000${op}`;
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { userId, resolve, reject, exchanges: syncContext.getStore()?.exchanges };
      let batch = this.pending.get(key);
      if (!batch) {
        batch = { target, groupId, op, correlationId, waiters: [], timer: setTimeout(() => void this.flush(key), WINDOW_MS) };
        this.pending.set(key, batch);
      }
      batch.waiters.push(waiter);
      const chunk = op === 'add' ? target.mapping.profile.groupMemberChunk : target.mapping.profile.groupRemoveChunk;
      if (batch.waiters.length >= chunk) void this.flush(key);
    });
  }

  private async flush(key: string): Promise<void> {
    const batch = this.pending.get(key);
    if (!batch) return;
    this.pending.delete(key);
    clearTimeout(batch.timer);
    const { target, groupId, op, waiters } = batch;
    const send = async (ids: string[], audience: Waiter[]): Promise<void> => {
      const context = { exchanges: [] as ScimExchange[] };
      try {
        await syncContext.run(context, () =>
          op === 'add' ? target.scim.addMembers(groupId, ids, batch.correlationId) : target.scim.removeMembers(groupId, ids, batch.correlationId),
        );
      } finally {
        for (const w of audience) w.exchanges?.push(...context.exchanges);
      }
    };
    try {
      await send([...new Set(waiters.map((w) => w.userId))], waiters);
      for (const w of waiters) w.resolve();
    } catch (error) {
      if (waiters.length === 1 || (isBridgeError(error) && error.kind !== 'permanent')) {
        for (const w of waiters) w.reject(error);
        return;
      }
      // One member the target refuses must not hold back the others: send each on its own.
      for (const w of waiters) await send([w.userId], [w]).then(w.resolve, w.reject);
    }
  }
}
