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
export async function benchLatency(hires: number, perSecond: number, kind: 'scimmy' | 'better-auth' = 'scimmy'): Promise<LatencyResult> {
  const scim = await startScimServer(kind);
  const proxy = await startScimProxy(scim.baseUrl, 0);
  const bridge = await startBridgeProcess({ worker: true, targets: [{ name: 'app', baseUrl: proxy.url, token: scim.token }] });
  const sentAt = new Map<string, number>();
  try {
    const started = performance.now();
    const inflight: Array<Promise<number>> = [];
    for (let i = 0; i < hires; i += 1) {
      const due = started + (i * 1000) / perSecond;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const data = employee(i);
      sentAt.set(String(data.id), performance.now());
      inflight.push(post(bridge.url, signedDelivery(bridge.secret, data)));
    }
    await Promise.all(inflight);
    const deadline = performance.now() + 60_000;
    while (proxy.stats.created.size < hires && performance.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const latencies = [...sentAt].flatMap(([id, at]) => {
      const created = proxy.stats.created.get(id);
      return created === undefined ? [] : [created - at];
    });
    const pickups = [...sentAt].flatMap(([id, at]) => {
      const first = proxy.stats.firstLookup.get(id);
      return first === undefined ? [] : [first - at];
    });
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
