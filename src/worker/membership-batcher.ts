import { isBridgeError } from '../domain/errors.js';
import type { ScimExchange } from '../scim/types.js';
import { syncContext } from './sync-context.js';
import type { TargetRuntime } from './target-runtime.js';

type Op = 'add' | 'remove';

interface Waiter {
  at: number;
  op: Op;
  userId: string;
  correlationId: string;
  resolve: () => void;
  reject: (error: unknown) => void;
  exchanges: ScimExchange[] | undefined;
}

interface GroupQueue {
  target: TargetRuntime;
  groupId: string;
  waiting: Waiter[];
  sending: boolean;
  timer: NodeJS.Timeout | undefined;
}

export interface BatchTiming {
  /** A batch goes out once no change to its group has come for this long... */
  quietMs: number;
  /** ...or once its oldest change has waited this long, or once it fills the target's chunk. */
  maxWaitMs: number;
  /** While more syncs are queued, quiet does not count and the oldest change may wait this long. */
  backlogMaxWaitMs: number;
}

export const DEFAULT_BATCH_TIMING: BatchTiming = { quietMs: 500, maxWaitMs: 2_000, backlogMaxWaitMs: 10_000 };

/**
 * Membership changes to one group from syncs running at the same time go out as one PATCH (up to the
 * target's chunk size) instead of one each. A group PATCH costs a server work in proportion to the
 * group's size whatever it carries, so during a load the changes are held until the group is quiet,
 * the chunk is full or the oldest has waited `maxWaitMs`. One request at a time per group: servers
 * that read, modify and write a group back would otherwise lose one of two concurrent changes. And
 * one group request at a time per target: a large group write can hold a server for tens of
 * milliseconds, and several at once would stall the account writes queued behind them.
 * Each sync still waits for its own change to be confirmed and gets the request that carried it in
 * its audit trail; a waiting sync is parked and does not hold one of the worker's slots.
 */
export class MembershipBatcher {
  private readonly queues = new Map<string, GroupQueue>();
  /** The tail of each target's chain of group requests. */
  private readonly lanes = new Map<string, Promise<void>>();
  private waiters = 0;

  constructor(
    private readonly timing: BatchTiming = DEFAULT_BATCH_TIMING,
    /** Told whenever a sync parks here, so the worker can use the slot it left. */
    private readonly onPark: () => void = () => undefined,
    /** Whether more syncs are waiting to run, whose changes could still join a batch. */
    private readonly backlog: () => boolean = () => false,
  ) {}

  /** Syncs waiting here for their membership change. */
  get parked(): number {
    return this.waiters;
  }

  change(target: TargetRuntime, groupId: string, op: Op, userId: string, correlationId: string): Promise<void> {
    const key = `${target.name}\u0000${groupId}`;
    let queue = this.queues.get(key);
    if (!queue) {
      queue = { target, groupId, waiting: [], sending: false, timer: undefined };
      this.queues.set(key, queue);
    }
    const promise = new Promise<void>((resolve, reject) => {
      queue.waiting.push({ at: Date.now(), op, userId, correlationId, resolve, reject, exchanges: syncContext.getStore()?.exchanges });
    });
    this.waiters += 1;
    this.schedule(key, queue);
    this.onPark();
    return promise.finally(() => {
      this.waiters -= 1;
    });
  }

  /** Sends everything waiting now: at shutdown, or when no further change can join a batch. */
  flushAll(): void {
    for (const [key, queue] of this.queues) {
      if (queue.sending || queue.waiting.length === 0) continue;
      clearTimeout(queue.timer);
      queue.timer = undefined;
      void this.drain(key, queue, 'all');
    }
  }

  /** The backlog ended: batches held open for it wait only for quiet now. */
  reconsider(): void {
    for (const [key, queue] of this.queues) this.schedule(key, queue);
  }

  private schedule(key: string, queue: GroupQueue): void {
    const oldest = queue.waiting[0];
    if (queue.sending || !oldest) return;
    clearTimeout(queue.timer);
    queue.timer = undefined;
    const backlog = this.backlog();
    const untilMax = oldest.at + (backlog ? this.timing.backlogMaxWaitMs : this.timing.maxWaitMs) - Date.now();
    const wait = backlog ? untilMax : Math.min(this.timing.quietMs, untilMax);
    if (this.fullOp(queue) !== undefined || wait <= 0) {
      void this.drain(key, queue, 'full');
      return;
    }
    queue.timer = setTimeout(() => {
      queue.timer = undefined;
      // A backlog that began while this batch waited keeps it open for more.
      if (this.backlog() && oldest.at + this.timing.backlogMaxWaitMs > Date.now() && this.fullOp(queue) === undefined) this.schedule(key, queue);
      else void this.drain(key, queue, 'due');
    }, wait);
  }

  /** A kind of change with a full chunk waiting, so adds do not wait behind one removal or the reverse. */
  private fullOp(queue: GroupQueue): Op | undefined {
    return (['add', 'remove'] as const).find((op) => queue.waiting.filter((w) => w.op === op).length >= this.chunkOf(queue.target, op));
  }

  private chunkOf(target: TargetRuntime, op: Op): number {
    return op === 'add' ? target.mapping.profile.groupMemberChunk : target.mapping.profile.groupRemoveChunk;
  }

  /**
   * Sends full chunks, and with `due` also what was waiting when the batch fell due, and with `all`
   * everything, including what arrives meanwhile. Changes that arrive during a `due` send start a
   * batch of their own rather than going out a few at a time behind it.
   */
  private async drain(key: string, queue: GroupQueue, mode: 'full' | 'due' | 'all'): Promise<void> {
    queue.sending = true;
    const due = new Set(mode === 'due' ? queue.waiting : []);
    try {
      do {
        const head = queue.waiting[0]!;
        const op = mode === 'all' || due.has(head) ? head.op : (this.fullOp(queue) ?? head.op);
        const chunk = this.chunkOf(queue.target, op);
        const batch: Waiter[] = [];
        queue.waiting = queue.waiting.filter((w) => (w.op === op && batch.length < chunk ? (batch.push(w), false) : true));
        await this.inLane(queue.target.name, () => this.send(queue, op, batch));
      } while (queue.waiting.length > 0 && (mode === 'all' || due.has(queue.waiting[0]!) || this.fullOp(queue) !== undefined));
    } finally {
      queue.sending = false;
    }
    if (queue.waiting.length === 0) this.queues.delete(key);
    else this.schedule(key, queue);
  }

  private inLane(target: string, task: () => Promise<void>): Promise<void> {
    const run = (this.lanes.get(target) ?? Promise.resolve()).then(task);
    const tail = run.catch(() => undefined);
    this.lanes.set(target, tail);
    void tail.then(() => {
      if (this.lanes.get(target) === tail) this.lanes.delete(target);
    });
    return run;
  }

  private async send(queue: GroupQueue, op: Op, waiters: Waiter[]): Promise<void> {
    const { target, groupId } = queue;
    const correlationId = waiters[0]!.correlationId;
    const request = async (ids: string[], audience: Waiter[]): Promise<void> => {
      const context = { exchanges: [] as ScimExchange[] };
      try {
        await syncContext.run(context, () => (op === 'add' ? target.scim.addMembers(groupId, ids, correlationId) : target.scim.removeMembers(groupId, ids, correlationId)));
      } finally {
        for (const w of audience) w.exchanges?.push(...context.exchanges);
      }
    };
    try {
      await request([...new Set(waiters.map((w) => w.userId))], waiters);
      for (const w of waiters) w.resolve();
    } catch (error) {
      if (waiters.length === 1 || (isBridgeError(error) && error.kind !== 'permanent')) {
        for (const w of waiters) w.reject(error);
        return;
      }
      // One member the target refuses must not hold back the others: send each on its own.
      for (const w of waiters) await request([w.userId], [w]).then(w.resolve, w.reject);
    }
  }
}
