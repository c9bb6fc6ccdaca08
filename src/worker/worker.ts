import { randomUUID } from 'node:crypto';
import { isBridgeError } from '../domain/errors.js';
import type { SourceAdapter } from '../hris/source.js';
import type { Metrics } from '../observability/metrics.js';
import type { Logger } from '../observability/logger.js';
import type { AuditEntry, ClaimedPair, FetchJob, PairRef, PairResult, Store } from '../store/index.js';
import { GroupResolver } from './groups.js';
import { MembershipBatcher } from './membership-batcher.js';
import { retryDelayMs } from './retry-policy.js';
import { syncContext } from './sync-context.js';
import { SyncFailure, syncPair } from './sync-pair.js';
import type { TargetRuntime } from './target-runtime.js';

/** Part of the 25 s SIGTERM budget given to in-flight syncs. */
const STOP_WAIT_MS = 15_000;
/** Syncs parked on a group batch free their slot, up to this many per slot (memory, leases). */
const PARKED_PER_SLOT = 32;

export interface WorkerOptions {
  concurrency: number;
  leaseSeconds: number;
  pollMs: number;
  maxAttempts: number;
}

export interface WorkerDeps {
  store: Store;
  targets: ReadonlyMap<string, TargetRuntime>;
  sources: ReadonlyMap<string, SourceAdapter>;
  log: Logger;
  metrics: Metrics;
  /** Injectable so effective dates can be tested without waiting for them. */
  now: () => number;
}

/**
 * The claim loop: fetches for ID-only sources first (they produce records), then dirty or due pairs.
 * Every pair is leased, so replicas and restarts never work on one pair twice at once.
 */
export class Worker {
  readonly owner = `worker-${randomUUID()}`;
  private readonly groups: GroupResolver;
  private running = false;
  private timer: NodeJS.Timeout | undefined;
  private wakeUp: (() => void) | undefined;
  /** A wake that came while a round was running: the next round starts at once instead of after pollMs. */
  private wokenDuringRound = false;
  private loop: Promise<void> | undefined;
  /** Each running or parked sync, with the pair it holds the lease of. */
  private readonly inflight = new Map<Promise<void>, PairRef>();
  /** Set while nothing else can come to join a group batch: a settle, a shutdown. */
  private flushParked = false;
  /** The last claim was cut short by free slots: more pairs are waiting. */
  private backlog = false;

  constructor(
    private readonly deps: WorkerDeps,
    private readonly options: WorkerOptions,
  ) {
    this.groups = new GroupResolver(deps.store, new MembershipBatcher(undefined, () => this.parked(), () => this.backlog && !this.flushParked));
  }

  /** Slots taken by syncs doing work, not those waiting for a group batch. */
  private get busy(): number {
    return this.inflight.size - this.groups.members.parked;
  }

  private parked(): void {
    const members = this.groups.members;
    if (this.inflight.size >= this.options.concurrency * PARKED_PER_SLOT || (this.flushParked && this.busy === 0)) members.flushAll();
    else this.wake();
  }

  private renewTimer: NodeJS.Timeout | undefined;

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
    // A sync that outlasts its lease would let another replica start the same pair: renew a third of the
    // way through, while any sync is running.
    const leaseMs = this.options.leaseSeconds * 1000;
    this.renewTimer = setInterval(() => {
      if (this.inflight.size === 0) return;
      this.deps.store.renewLeases(this.owner, [...this.inflight.values()], this.deps.now(), leaseMs).catch((error: unknown) => {
        this.deps.log.warn({ err: error, event: { action: 'worker.lease_renewal', outcome: 'failure' } }, 'lease renewal failed');
      });
    }, Math.max(1000, leaseMs / 3));
    this.renewTimer.unref();
  }

  /** Called after a webhook is committed, so a change is worked on at once rather than at the next poll. */
  wake(): void {
    if (this.wakeUp) this.wakeUp();
    else this.wokenDuringRound = true;
  }

  async stop(): Promise<void> {
    this.running = false;
    this.flushParked = true;
    this.groups.members.flushAll();
    this.wake();
    await this.loop;
    // Shutdown has a budget: syncs still waiting on a slow target after this are left to finish or
    // fail on their own, and their pairs are handed back now rather than when the lease runs out.
    await Promise.race([Promise.allSettled([...this.inflight.keys()]), new Promise((resolve) => setTimeout(resolve, STOP_WAIT_MS).unref())]);
    clearInterval(this.renewTimer);
    await this.deps.store.releaseLeases(this.owner);
  }

  /** Works until nothing is due (used by tests and the `plan` command); returns the number of items done. */
  async runUntilIdle(maxRounds = 1000): Promise<number> {
    let total = 0;
    this.flushParked = true;
    try {
      for (let round = 0; round < maxRounds; round += 1) {
        const done = await this.tick();
        if (this.inflight.size > 0 && this.busy === 0) this.groups.members.flushAll();
        await Promise.allSettled([...this.inflight.keys()]);
        if (done === 0) return total;
        total += done;
      }
      return total;
    } finally {
      this.flushParked = false;
    }
  }

  private async run(): Promise<void> {
    while (this.running) {
      this.wokenDuringRound = false;
      let done = 0;
      try {
        done = await this.tick();
      } catch (error) {
        this.deps.log.error({ err: error, event: { action: 'worker.tick', outcome: 'failure' } }, 'worker round failed');
      }
      const full = this.busy >= this.options.concurrency;
      if (full || (done === 0 && !this.wokenDuringRound)) {
        await new Promise<void>((resolve) => {
          this.wakeUp = resolve;
          this.timer = setTimeout(resolve, this.options.pollMs);
        });
        clearTimeout(this.timer);
        this.wakeUp = undefined;
      }
    }
  }

  /** One round: resume targets whose credential changed, run due fetches, claim and start pairs. */
  async tick(): Promise<number> {
    const { store, now } = this.deps;
    const paused = await this.resumeChangedTargets();
    const leaseMs = this.options.leaseSeconds * 1000;
    const free = Math.min(this.options.concurrency - this.busy, this.options.concurrency * PARKED_PER_SLOT - this.inflight.size);
    if (free <= 0) return 0;
    const fetches = await store.claimFetches(this.owner, now(), leaseMs, free);
    await Promise.all(fetches.map((job) => this.fetch(job)));
    const pairs = await store.claimPairs(this.owner, now(), leaseMs, free, paused);
    const hadBacklog = this.backlog;
    this.backlog = pairs.length === free;
    if (hadBacklog && !this.backlog) this.groups.members.reconsider();
    for (const pair of pairs) {
      const p = this.sync(pair)
        .catch((error: unknown) => {
          // The store could not record the outcome (a database failover): the lease runs out and the
          // pair is synced again; the process must not die for it.
          this.deps.log.error({ err: error, event: { action: 'sync.record', outcome: 'failure' }, labels: { target: pair.target } }, 'could not record the outcome of a sync');
        })
        .finally(() => {
          this.inflight.delete(p);
          if (this.flushParked && this.busy === 0) this.groups.members.flushAll();
          // A free slot is work to claim now, not at the next poll.
          this.wake();
        });
      this.inflight.set(p, pair);
    }
    return fetches.length + pairs.length;
  }

  private async resumeChangedTargets(): Promise<string[]> {
    const paused = await this.deps.store.pausedTargets();
    const still: string[] = [];
    for (const p of paused) {
      const target = this.deps.targets.get(p.name);
      if (target && p.fingerprint !== null && target.credentialFingerprint() !== p.fingerprint) {
        await this.deps.store.resumeTarget(p.name, { at: this.deps.now(), correlationId: 'target', action: 'target.resumed', outcome: 'success', target: p.name, details: { reason: 'credential changed' } });
        this.deps.log.info({ event: { action: 'target.resumed', category: ['iam'] }, labels: { target: p.name } }, 'target resumed: credential changed');
      } else {
        still.push(p.name);
      }
      this.deps.metrics.targetPaused.set({ target: p.name }, still.includes(p.name) ? 1 : 0);
    }
    return still;
  }

  private async fetch(job: FetchJob): Promise<void> {
    const { store, now, log } = this.deps;
    const source = this.deps.sources.get(job.source);
    if (!source?.fetchEmployee) {
      await store.failFetch(job, `source ${job.source} is not configured to fetch employees`, now() + 3600_000, now());
      return;
    }
    try {
      const record = await source.fetchEmployee(job.employeeId);
      await store.completeFetch(job, record, now(), [...this.deps.targets.keys()]);
      this.wake();
    } catch (error) {
      const retryAfter = isBridgeError(error) ? error.retryAfterSeconds : undefined;
      const message = isBridgeError(error) ? `${error.code}: ${error.message}` : String(error);
      log.warn({ event: { action: 'record.fetch', outcome: 'failure' }, trace: { id: job.correlationId }, labels: { source: job.source }, user: { target: { id: job.employeeId } }, error: { message } }, 'employee fetch failed');
      await store.failFetch(job, message, now() + retryDelayMs(job.attempts, retryAfter), now());
    }
  }

  private async sync(pair: ClaimedPair): Promise<void> {
    const { store, now, log, metrics } = this.deps;
    const target = this.deps.targets.get(pair.target);
    if (!target) {
      // A target removed from the config: its pairs wait, without filling the worker, until it returns.
      await store.completePair(this.owner, pair, { kind: 'retry', error: 'target is not configured', nextAttemptAt: now() + 3600_000 }, [], now());
      return;
    }
    const exchanges: AuditEntry[] = [];
    const context = { exchanges: [] as import('../scim/types.js').ScimExchange[] };
    let result: PairResult;
    let audit: AuditEntry[];
    const started = now();
    try {
      const outcome = await syncContext.run(context, () => syncPair(pair, target, store, this.groups, started, this.owner));
      const action = outcome.action;
      audit = outcome.audit;
      result = { kind: 'ok', ...outcome.applied };
      if (target.mode !== 'live') {
        // A plan changes nothing: keep what is really applied, so the same plan shows again until it is live.
        result = { kind: 'ok', scimId: pair.scimId, appliedHash: pair.appliedHash, appliedUser: pair.appliedUser, appliedGroups: pair.appliedGroups, state: pair.state, inactiveSince: pair.inactiveSince, nextCheckAt: outcome.applied.nextCheckAt };
      }
      metrics.syncs.inc({ target: target.name, action, outcome: 'success' });
    } catch (failure) {
      const error = failure instanceof SyncFailure ? failure.error : failure;
      const partial = failure instanceof SyncFailure && target.mode === 'live' ? failure.partial : undefined;
      audit = failure instanceof SyncFailure ? failure.audit : [];
      result = await this.classify(pair, target, error, partial);
      metrics.syncs.inc({ target: target.name, action: 'sync', outcome: result.kind === 'retry' ? 'retry' : 'failure' });
      if (!(error instanceof Error && isBridgeError(error))) log.error({ err: error, labels: { target: target.name } }, 'unexpected error in a sync');
    }
    for (const x of context.exchanges) {
      exchanges.push({
        at: started,
        correlationId: pair.correlationId ?? 'scheduled',
        action: 'scim.request',
        outcome: x.outcome,
        target: target.name,
        employeeId: pair.employeeId,
        details: { method: x.method, path: x.path, status: x.status, durationMs: x.durationMs, errorCode: x.errorCode, body: x.body },
      });
    }
    await store.completePair(this.owner, pair, result, [...exchanges, ...audit], now());
  }

  private async classify(pair: ClaimedPair, target: TargetRuntime, error: unknown, partial: PairResult extends never ? never : import('../store/index.js').PairApplied | undefined): Promise<PairResult> {
    const { store, now } = this.deps;
    const message = isBridgeError(error) ? `${error.code}: ${error.message}` : error instanceof Error ? error.message : String(error);
    if (isBridgeError(error) && error.kind === 'config') {
      await store.pauseTarget(target.name, message, target.credentialFingerprint(), now(), {
        at: now(),
        correlationId: pair.correlationId ?? 'target',
        action: 'target.paused',
        outcome: 'failure',
        target: target.name,
        details: { code: error.code, reason: message },
      });
      this.deps.metrics.targetPaused.set({ target: target.name }, 1);
      this.deps.log.error({ event: { action: 'target.paused', category: ['iam'], outcome: 'failure' }, labels: { target: target.name }, error: { code: error.code, message } }, 'target paused until its credential changes');
      return partial ? { kind: 'retry', error: message, nextAttemptAt: now(), partial } : { kind: 'released' };
    }
    if (isBridgeError(error) && error.kind === 'transient' && pair.attempts + 1 < this.options.maxAttempts) {
      return { kind: 'retry', error: message, nextAttemptAt: now() + retryDelayMs(pair.attempts, error.retryAfterSeconds), ...(partial ? { partial } : {}) };
    }
    return { kind: 'failed', error: message, ...(partial ? { partial } : {}) };
  }
}
