import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Agent, request } from 'undici';

export interface ProxyStats {
  requests: number;
  writes: number;
  byMethod: Record<string, number>;
  /** POST /Users answered 201: externalId -> time the answer left the proxy (ms, performance clock). */
  created: Map<string, number>;
  /** First search for an externalId: when the bridge started working on that account. */
  firstLookup: Map<string, number>;
  /** Upstream time of each account's lookup and create, by externalId: the server's share of its latency. */
  upstreamByAccount: Map<string, { lookupMs?: number; createMs?: number }>;
  /** Round-trip times of POST /Users at the upstream server, without the added delay. */
  upstreamPostMs: number[];
  /** Upstream time spent per method, summed (ms), to tell the server's share of a run. */
  upstreamMsByMethod: Record<string, number>;
}

/**
 * A proxy in front of a SCIM server: adds a fixed delay to every round trip (a SaaS target is that far
 * away) and records what passes, so the benchmark sees exactly when an account became visible.
 */
export async function startScimProxy(upstream: string, delayMs: number): Promise<{ url: string; stats: ProxyStats; reset(): void; close(): Promise<void> }> {
  const target = new URL(upstream);
  const agent = new Agent({ connections: 256, pipelining: 1, keepAliveTimeout: 30_000 });
  const fresh = (): ProxyStats => ({ requests: 0, writes: 0, byMethod: {}, created: new Map(), firstLookup: new Map(), upstreamByAccount: new Map(), upstreamPostMs: [], upstreamMsByMethod: {} });
  let stats = fresh();
  const handler = async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    const method = req.method ?? 'GET';
    stats.requests += 1;
    stats.byMethod[method] = (stats.byMethod[method] ?? 0) + 1;
    if (method !== 'GET') stats.writes += 1;
    const lookup = /filter=externalId%20eq%20%22([^%]+)%22/.exec(req.url ?? '');
    if (lookup?.[1] && !stats.firstLookup.has(lookup[1])) stats.firstLookup.set(lookup[1], performance.now());
    if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
    // The proxy serves the upstream's own paths, so its base URL is the upstream's with another origin.
    const path = req.url ?? '/';
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string' && k !== 'host' && k !== 'connection') headers[k] = v;
    const started = performance.now();
    try {
      const up = await request(`${target.origin}${path}`, { method: method as 'GET', headers, body: body.length ? body : undefined, dispatcher: agent });
      const answer = Buffer.from(await up.body.arrayBuffer());
      const elapsed = performance.now() - started;
      stats.upstreamMsByMethod[method] = (stats.upstreamMsByMethod[method] ?? 0) + elapsed;
      if (lookup?.[1]) stats.upstreamByAccount.set(lookup[1], { ...stats.upstreamByAccount.get(lookup[1]), lookupMs: elapsed });
      const outHeaders: Record<string, string> = {};
      for (const [k, v] of Object.entries(up.headers)) if (typeof v === 'string' && !['connection', 'transfer-encoding', 'keep-alive'].includes(k)) outHeaders[k] = v;
      res.writeHead(up.statusCode, outHeaders);
      res.end(answer);
      if (method === 'POST' && /\/Users$/.test(req.url ?? '') && up.statusCode === 201) {
        stats.upstreamPostMs.push(elapsed);
        try {
          const externalId = (JSON.parse(body.toString()) as { externalId?: string }).externalId;
          if (externalId) {
            stats.created.set(externalId, performance.now());
            stats.upstreamByAccount.set(externalId, { ...stats.upstreamByAccount.get(externalId), createMs: elapsed });
          }
        } catch {
          // not JSON: not ours to record
        }
      }
    } catch (error) {
      res.writeHead(502);
      res.end(String(error));
    }
  };
  const server: Server = createServer((req, res) => void handler(req, res));
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}${target.pathname.replace(/\/$/, '')}`,
    get stats() {
      return stats;
    },
    reset: () => {
      stats = fresh();
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((ok) => server.close(() => ok()));
      await agent.close();
    },
  };
}
