import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';
import { percentile } from './webhooks.js';

export interface PacedResult {
  requests: number;
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  /** How late this process sent deliveries (timer granularity, its own pauses), counted in p50/p99 too. */
  lateP99: number;
}

/** One POST of a delivery; `make` builds (and signs) it when it is due. */
export type MakeDelivery = () => { path: string; headers: Record<string, string>; body: string };

/**
 * Deliveries at evenly spaced moments whatever the answers (an open loop), each timed from the moment
 * it was due, so that a slow answer, or this process falling behind, counts against the server rather
 * than delaying the next deliveries out of the figure. autocannon's `overallRate` is not a fixed rate:
 * each connection sends its share of the second back to back from the start of each second, so
 * "1,000/s" over 50 connections is the full 50-connection load for the first tenth to third of every
 * second (PostgreSQL's log showed every commit of such a phase in the first 0.4 s of its second) and
 * nothing after it.
 */
export async function pacedLoad(origins: readonly string[], perSecond: number, seconds: number, make: MakeDelivery, connections = 50): Promise<PacedResult> {
  // Enough connections that a delivery never waits for a free one at this rate; a load balancer in
  // front of the replicas would take them in turn.
  const pools = origins.map((o) => new Pool(o, { connections: Math.ceil(connections / origins.length), keepAliveTimeout: 30_000 }));
  const latencies: number[] = [];
  const lateness: number[] = [];
  let non2xx = 0;
  const inflight = new Set<Promise<void>>();
  const send = async (pool: Pool, due: number): Promise<void> => {
    try {
      const d = make();
      lateness.push(performance.now() - due);
      const res = await pool.request({ path: d.path, method: 'POST', headers: d.headers, body: d.body });
      await res.body.dump();
      if (res.statusCode < 200 || res.statusCode >= 300) non2xx += 1;
      else latencies.push(performance.now() - due);
    } catch {
      non2xx += 1;
    }
  };
  const started = performance.now();
  const dueAt = (i: number) => started + (i * 1000) / perSecond;
  const total = Math.round(perSecond * seconds);
  try {
    for (let i = 0; i < total; ) {
      const now = performance.now();
      // Everything due by now goes out in this turn; a late timer sends the deliveries it owes at once.
      for (; i < total && dueAt(i) <= now; i += 1) {
        const p = send(pools[i % pools.length]!, dueAt(i));
        inflight.add(p);
        void p.finally(() => inflight.delete(p));
      }
      if (i < total) await sleep(Math.max(0, dueAt(i) - performance.now()));
    }
    await Promise.all(inflight);
  } finally {
    await Promise.all(pools.map((p) => p.close()));
  }
  // 2xx answers per second of the schedule; a refused or failed delivery is in non2xx instead.
  return { requests: latencies.length, rps: latencies.length / seconds, p50: percentile(latencies, 50), p99: percentile(latencies, 99), non2xx, lateP99: percentile(lateness, 99) };
}
