import autocannon from 'autocannon';
import { pacedLoad } from './support/paced.js';
import { cpuMs, startBaselineServer, startBridgeProcess, type BridgeProcess } from './support/processes.js';
import { employee, signedDelivery } from './support/webhooks.js';

/** CPU per request (µs) of the server under test and of the load generator, over one measured phase. */
export interface CpuShare {
  serverUs: number;
  generatorUs: number;
}

export interface IntakeResult {
  bridge: { rps: number; p50: number; p99: number; non2xx: number; cpu: CpuShare };
  baseline: { rps: number; p50: number; p99: number; cpu: CpuShare };
  fixedRate: { rate: number; rps: number; p50: number; p99: number; non2xx: number; lateP99: number };
  peakRssMb: number;
}

let sent = 0;
const WARM_UP_SECONDS = 3;

/** The next signed delivery: a new version of one of 50,000 employees. */
function nextDelivery(secret: string): { headers: Record<string, string>; body: string } {
  sent += 1;
  return signedDelivery(secret, employee(sent % 50_000, sent));
}

/** As many deliveries as `connections` closed loops can send: the throughput phase. */
async function load(url: string, secret: string, seconds: number, connections = 50): Promise<autocannon.Result> {
  return autocannon({
    url: `${url}/webhooks/hr`,
    connections,
    duration: seconds,
    requests: [
      {
        method: 'POST',
        setupRequest: (req) => ({ ...req, ...nextDelivery(secret) }),
      },
    ],
  });
}

/** Runs one phase and divides the CPU the server processes and this process used by its requests. */
async function measured<T extends { requests: number }>(pids: number[], phase: () => Promise<T>): Promise<T & { cpu: CpuShare }> {
  const server = pids.reduce((n, pid) => n + cpuMs(pid), 0);
  const generator = process.cpuUsage();
  const result = await phase();
  const serverMs = pids.reduce((n, pid) => n + cpuMs(pid), 0) - server;
  const g = process.cpuUsage(generator);
  const per = (ms: number) => (ms * 1000) / Math.max(1, result.requests);
  return { ...result, cpu: { serverUs: per(serverMs), generatorUs: per((g.user + g.system) / 1000) } };
}

interface Combined {
  requests: number;
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
}

/** Spreads the connections over the replicas, as a load balancer would. */
async function loadAll(urls: string[], secret: string, seconds: number): Promise<Combined> {
  const per = await Promise.all(urls.map((u) => load(u, secret, seconds, Math.ceil(50 / urls.length))));
  return {
    requests: per.reduce((n, r) => n + r.requests.total, 0),
    rps: per.reduce((n, r) => n + r.requests.average, 0),
    p50: Math.max(...per.map((r) => r.latency.p50)),
    p99: Math.max(...per.map((r) => r.latency.p99)),
    non2xx: per.reduce((n, r) => n + r.non2xx, 0),
  };
}

/** Signed deliveries against the service (durable commit before 202) and against a bare route. */
export async function benchIntake(seconds: number, options: { postgresUrl?: string; replicas?: number; baseline?: boolean } = {}): Promise<IntakeResult> {
  const replicas: BridgeProcess[] = [];
  for (let i = 0; i < (options.replicas ?? 1); i += 1) {
    replicas.push(
      await startBridgeProcess({
        worker: false,
        ...(options.postgresUrl ? { storeUrl: options.postgresUrl } : {}),
        ...(replicas[0] ? { secret: replicas[0].secret } : {}),
        targets: [{ name: 'app', baseUrl: 'http://127.0.0.1:9/scim/v2', token: 't', mode: 'dry-run' }],
      }),
    );
  }
  const secret = replicas[0]!.secret;
  const urls = replicas.map((r) => r.url);
  const baselineServer = options.baseline === false ? null : await startBaselineServer();
  try {
    // Unmeasured warm-up: JIT, connection pools and SQLite's cache, for the server and the baseline alike.
    if (baselineServer) await load(baselineServer.url, secret, WARM_UP_SECONDS);
    await loadAll(urls, secret, WARM_UP_SECONDS);
    const base = baselineServer ? await measured([baselineServer.child.pid!], async () => { const r = await load(baselineServer.url, secret, seconds); return { ...r, requests: r.requests.total, rps: r.requests.average }; }) : null;
    const full = await measured(replicas.map((r) => r.child.pid!), () => loadAll(urls, secret, seconds));
    const fixed = await pacedLoad(urls, 1000, seconds, () => ({ path: '/webhooks/hr', ...nextDelivery(secret) }));
    return {
      baseline: base ? { rps: base.rps, p50: base.latency.p50, p99: base.latency.p99, cpu: base.cpu } : { rps: Number.NaN, p50: Number.NaN, p99: Number.NaN, cpu: { serverUs: Number.NaN, generatorUs: Number.NaN } },
      bridge: full,
      fixedRate: { rate: 1000, ...fixed },
      peakRssMb: Math.max(...replicas.map((r) => r.peakRssMb())),
    };
  } finally {
    await baselineServer?.stop();
    for (const r of replicas) await r.stop();
  }
}
