import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type Fault = 'none' | 'server-error' | 'throttle' | 'hang' | 'reset' | 'conflict';

export interface FaultRates {
  serverError: number;
  throttle: number;
  hang: number;
  reset: number;
  /** POST /Users only: the create is forwarded, then answered 409 as if the account had been there. */
  conflict: number;
}

/** A fault for the next request that matches, before any random draw: for tests that need one exact case. */
export interface ScriptedFault {
  method: string;
  path: RegExp;
  fault: Fault;
  afterForward: boolean;
}

export interface ProxyRequestRecord {
  at: number;
  method: string;
  path: string;
  fault: Fault;
  status: number | null;
}

/**
 * A fault-injecting SCIM front: it checks its own bearer token (so a rotated credential can be
 * simulated), forwards with the upstream's, and injects the configured failures. Hangs and half of
 * the resets happen after the request was forwarded, so the write is done and only its answer is
 * lost, which is the hard case for a client. It records when each request arrived and when each
 * Retry-After was issued, in real time.
 */
export class FaultProxy {
  readonly requests: ProxyRequestRecord[] = [];
  readonly retryAfters: Array<{ at: number; seconds: number }> = [];
  faultsOn = true;
  readonly scripted: ScriptedFault[] = [];
  acceptedToken: string;
  private readonly sockets = new Set<Socket>();
  private readonly server = createServer((req, res) => void this.handle(req, res));
  private upstream: URL;
  baseUrl = '';

  constructor(
    upstreamBaseUrl: string,
    private readonly upstreamToken: string,
    acceptedToken: string,
    private readonly rates: FaultRates,
    private readonly rand: () => number,
  ) {
    this.upstream = new URL(upstreamBaseUrl);
    this.acceptedToken = acceptedToken;
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    const { port } = this.server.address() as AddressInfo;
    this.baseUrl = `http://127.0.0.1:${port}${this.upstream.pathname.replace(/\/+$/, '')}`;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  count(fault: Fault): number {
    return this.requests.filter((r) => r.fault === fault).length;
  }

  private pickFault(method: string, path: string): Fault {
    if (!this.faultsOn) return 'none';
    const r = this.rand();
    const { serverError, throttle, hang, reset, conflict } = this.rates;
    const edges: Array<[number, Fault]> = [[serverError, 'server-error'], [throttle, 'throttle'], [hang, 'hang'], [reset, 'reset']];
    if (method === 'POST' && /\/Users$/.test(path.split('?')[0]!)) edges.push([conflict, 'conflict']);
    let edge = 0;
    for (const [rate, fault] of edges) {
      edge += rate;
      if (r < edge) return fault;
    }
    return 'none';
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req as AsyncIterable<Buffer>) chunks.push(c);
    const body = Buffer.concat(chunks);
    const method = req.method ?? 'GET';
    const path = req.url ?? '/';
    const record: ProxyRequestRecord = { at: Date.now(), method, path, fault: 'none', status: null };
    this.requests.push(record);
    const answer = (status: number, headers: Record<string, string>, text: string) => {
      record.status = status;
      res.writeHead(status, { 'content-type': 'application/scim+json', ...headers });
      res.end(text);
    };
    if (req.headers.authorization !== `Bearer ${this.acceptedToken}`) {
      answer(401, {}, JSON.stringify({ schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '401', detail: 'invalid credentials' }));
      return;
    }
    const script = this.scripted.findIndex((f) => f.method === method && f.path.test(path));
    const [scripted] = script >= 0 ? this.scripted.splice(script, 1) : [];
    const fault = scripted?.fault ?? this.pickFault(method, path);
    record.fault = fault;
    const afterForward = scripted?.afterForward ?? this.rand() < 0.5;
    if (fault === 'server-error') {
      answer(this.rand() < 0.5 ? 500 : 503, {}, JSON.stringify({ schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '500', detail: 'injected' }));
      return;
    }
    if (fault === 'throttle') {
      // Recorded before the answer leaves, so the check below can only err towards leniency.
      this.retryAfters.push({ at: Date.now(), seconds: 1 });
      answer(429, { 'retry-after': '1' }, JSON.stringify({ schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '429', detail: 'slow down' }));
      return;
    }
    if ((fault === 'reset' && !afterForward) || (fault === 'hang' && !afterForward)) {
      if (fault === 'reset') req.socket.resetAndDestroy();
      // A hang holds the request until the client gives up and closes the connection.
      return;
    }
    let upstream: { status: number; headers: Record<string, string>; text: string };
    try {
      upstream = await this.forward(method, path, req.headers['content-type'], body);
    } catch {
      answer(502, {}, '');
      return;
    }
    if (fault === 'reset') {
      req.socket.resetAndDestroy();
      return;
    }
    if (fault === 'hang') return;
    if (fault === 'conflict' && upstream.status === 201) {
      answer(409, {}, JSON.stringify({ schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '409', scimType: 'uniqueness', detail: 'already exists' }));
      return;
    }
    if (fault === 'conflict') record.fault = 'none';
    answer(upstream.status, upstream.headers, upstream.text);
  }

  private forward(method: string, path: string, contentType: string | undefined, body: Buffer): Promise<{ status: number; headers: Record<string, string>; text: string }> {
    return new Promise((resolve, reject) => {
      const out = httpRequest(
        {
          host: this.upstream.hostname,
          port: this.upstream.port,
          method,
          path,
          headers: { authorization: `Bearer ${this.upstreamToken}`, accept: 'application/scim+json', ...(contentType ? { 'content-type': contentType } : {}), 'content-length': String(body.length) },
        },
        (res) => {
          const parts: Buffer[] = [];
          res.on('data', (c: Buffer) => parts.push(c));
          res.on('end', () => {
            const headers: Record<string, string> = {};
            const location = res.headers.location;
            if (location) headers.location = location.replace(this.upstream.origin, new URL(this.baseUrl).origin);
            resolve({ status: res.statusCode ?? 502, headers, text: Buffer.concat(parts).toString('utf8') });
          });
          res.on('error', reject);
        },
      );
      out.on('error', reject);
      out.end(body);
    });
  }
}
