import { startScimServer } from '../test/helpers/scim-servers/index.js';
import { startBridgeProcess } from './support/processes.js';
import { startScimProxy } from './support/scim-proxy.js';
import { employee, percentile, post, signedDelivery } from './support/webhooks.js';

export interface LatencyResult {
  hires: number;
  p50: number;
  p99: number;
  baselineP50: number;
  baselineP99: number;
  missing: number;
  /** Webhook sent → first SCIM request for it: the bridge's own share of the latency. */
  pickupP50: number;
  pickupP99: number;
  peakRssMb: number;
}

/** Webhook sent → account created at a local SCIM server, for hires at a steady rate. */
export async function benchLatency(hires: number, perSecond: number, kind: 'scimmy' | 'better-auth' = 'scimmy', warmup = 0): Promise<LatencyResult> {
  const scim = await startScimServer(kind);
  const proxy = await startScimProxy(scim.baseUrl, 0);
  const bridge = await startBridgeProcess({ worker: true, targets: [{ name: 'app', baseUrl: proxy.url, token: scim.token }] });
  const sentAt = new Map<string, number>();
  // Hires `first` to `first + count - 1` at a steady rate; resolves once each is acknowledged.
  const hireAtRate = async (first: number, count: number, record: boolean): Promise<number> => {
    const started = performance.now();
    const inflight: Array<Promise<number>> = [];
    for (let i = 0; i < count; i += 1) {
      const due = started + (i * 1000) / perSecond;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const data = employee(first + i);
      if (record) sentAt.set(String(data.id), performance.now());
      inflight.push(post(bridge.url, signedDelivery(bridge.secret, data)));
    }
    await Promise.all(inflight);
    return started;
  };
  const untilCreated = async (count: number) => {
    const deadline = performance.now() + 60_000;
    while (proxy.stats.created.size < count && performance.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  };
  try {
    if (warmup > 0) {
      // A service that has just started compiles its hot paths and opens its connections during the
      // first hires; the figure is for one that has been running, so those hires are not counted.
      await hireAtRate(hires, warmup, false);
      await untilCreated(warmup);
      await new Promise((r) => setTimeout(r, 1_000));
      proxy.reset();
    }
    const started = await hireAtRate(0, hires, true);
    await untilCreated(hires);
    const latencies = [...sentAt].flatMap(([id, at]) => {
      const created = proxy.stats.created.get(id);
      return created === undefined ? [] : [created - at];
    });
    const pickups = [...sentAt].flatMap(([id, at]) => {
      const first = proxy.stats.firstLookup.get(id);
      return first === undefined ? [] : [first - at];
    });
    if (process.env.BENCH_VERBOSE) {
      // The slowest hires, each split into waiting for the bridge and the SCIM round trips after it.
      const slow = [...sentAt]
        .map(([id, at]) => ({ id, at: at - started, total: (proxy.stats.created.get(id) ?? Number.NaN) - at, pickup: (proxy.stats.firstLookup.get(id) ?? Number.NaN) - at }))
        .sort((a, b) => b.total - a.total)
        .slice(0, 30);
      for (const s of slow) {
        const server = proxy.stats.upstreamByAccount.get(s.id);
        console.error(`  slow hire ${s.id} sent at ${(s.at / 1000).toFixed(2)} s: total ${s.total.toFixed(0)} ms, pick-up ${s.pickup.toFixed(0)} ms, server lookup ${server?.lookupMs?.toFixed(0)} ms, create ${server?.createMs?.toFixed(0)} ms`);
      }
      console.error('  SCIM by method:', proxy.stats.byMethod, 'upstream ms:', proxy.stats.upstreamMsByMethod);
    }
    return {
      pickupP50: percentile(pickups, 50),
      pickupP99: percentile(pickups, 99),
      hires,
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
      baselineP50: percentile(proxy.stats.upstreamPostMs, 50),
      baselineP99: percentile(proxy.stats.upstreamPostMs, 99),
      missing: hires - latencies.length,
      peakRssMb: bridge.peakRssMb(),
    };
  } finally {
    await bridge.stop();
    await proxy.close();
    await scim.stop();
  }
}
