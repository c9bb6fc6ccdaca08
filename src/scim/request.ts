import { Pool, type Dispatcher } from 'undici';
import { BridgeError, isBridgeError, type ErrorCode } from '../domain/errors.js';
import type { TargetProfile } from '../mapping/types.js';
import type { ScimClientOptions, ScimExchange } from './types.js';
import { errorForResponse, parseRetryAfter } from './classify.js';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface ScimRequest {
  method: HttpMethod;
  /** Relative to the target's base URL, starting with `/`, query already encoded. */
  path: string;
  body?: unknown;
  correlationId?: string | undefined;
  /** What a write answers in dry-run mode, where it is reported but never sent. */
  dryRunBody?: unknown;
}

export interface ScimResponse {
  /** null when the write was not sent (dry-run). */
  status: number | null;
  headers: Record<string, string | string[] | undefined>;
  /** Parsed JSON; undefined when the body was empty or not JSON. */
  body: unknown;
  /** True when a non-empty body could not be read as JSON. */
  unreadable: boolean;
  dryRun: boolean;
}

/** What the resource operations need: the target's chokepoint and its dialect. */
export interface ScimContext {
  http: ScimRequester;
  profile: TargetProfile;
}

/** A request that would wait longer than this for a Retry-After gate fails at once instead. */
export const MAX_GATE_WAIT_MS = 30_000;
/** No SCIM answer we need is this large; a bigger one is a misrouted download, not a resource. */
const MAX_RESPONSE_BYTES = 10 * 1024 * 1024;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function isJsonType(contentType: string | string[] | undefined): boolean {
  const value = (Array.isArray(contentType) ? contentType[0] : contentType)?.toLowerCase() ?? '';
  // application/scim+json, application/json, text/json (Okta examples), vendor +json types.
  return value === '' || value.includes('json');
}

function parseBody(text: string, contentType: string | string[] | undefined): { body: unknown; unreadable: boolean } {
  if (text.trim() === '') return { body: undefined, unreadable: false };
  const looksJson = /^\s*[[{]/.test(text);
  if (!isJsonType(contentType) && !looksJson) return { body: undefined, unreadable: true };
  try {
    return { body: JSON.parse(text) as unknown, unreadable: false };
  } catch {
    return { body: undefined, unreadable: true };
  }
}

const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT']);

function errorCodeOf(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string') {
    return error.code;
  }
  return undefined;
}

/**
 * The single way out to one SCIM target: auth, content types, timeout, rate limit, Retry-After
 * gate, dry-run and classification of every failure into a BridgeError. It never retries: the
 * worker owns the retry policy and needs to see each failure.
 */
export class ScimRequester {
  readonly target: string;
  private readonly options: ScimClientOptions;
  private readonly dispatcher: Dispatcher;
  private readonly ownsDispatcher: boolean;
  private readonly origin: string;
  private readonly basePath: string;
  /** Earliest time the next request may start, shared by all callers of this target. */
  private nextSlotAt = 0;
  /** No request leaves before this time, after the target asked us to back off. */
  private gateUntil = 0;

  constructor(options: ScimClientOptions, dispatcher?: Dispatcher) {
    this.options = options;
    this.target = options.target;
    const url = new URL(options.baseUrl);
    this.origin = url.origin;
    this.basePath = url.pathname.replace(/\/+$/, '');
    if (dispatcher) {
      this.dispatcher = dispatcher;
      this.ownsDispatcher = false;
    } else {
      this.dispatcher = new Pool(this.origin, {
        connections: options.maxConnections ?? 16,
        keepAliveTimeout: 30_000,
        headersTimeout: options.timeoutMs,
        bodyTimeout: options.timeoutMs,
      });
      this.ownsDispatcher = true;
    }
  }

  get mode(): ScimClientOptions['mode'] {
    return this.options.mode;
  }

  async send(request: ScimRequest): Promise<ScimResponse> {
    // dry-run sends nothing at all (it plans against an empty target, so it needs no target to exist);
    // shadow reads the real target and holds back every write.
    const held = this.options.mode === 'dry-run' || (this.options.mode === 'shadow' && request.method !== 'GET');
    if (held) {
      this.report(request, { status: null, outcome: 'dry-run', durationMs: 0 });
      if (request.method === 'GET') {
        if (request.path.includes('?')) {
          const empty = { schemas: ['urn:ietf:params:scim:api:messages:2.0:ListResponse'], totalResults: 0, Resources: [] };
          return { status: null, headers: {}, body: empty, unreadable: false, dryRun: true };
        }
        throw new BridgeError('SCIM_NOT_FOUND', 'dry-run: nothing is read from the target');
      }
      return { status: null, headers: {}, body: request.dryRunBody, unreadable: false, dryRun: true };
    }

    try {
      await this.waitForTurn();
    } catch (error) {
      this.report(request, { status: null, outcome: 'failure', durationMs: 0, errorCode: codeOf(error) });
      throw error;
    }

    // Read per request: the secret may have been rotated since the last one.
    const token = this.options.token();
    const started = performance.now();
    const elapsed = (): number => Math.round(performance.now() - started);
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), this.options.timeoutMs);
    let status: number | null = null;
    try {
      const headers: Record<string, string> = {
        authorization: `Bearer ${token}`,
        accept: 'application/scim+json, application/json',
        'user-agent': this.options.userAgent,
      };
      let payload: string | undefined;
      if (request.body !== undefined) {
        headers['content-type'] = 'application/scim+json';
        payload = JSON.stringify(request.body);
      }
      const response = await this.dispatcher.request({
        origin: this.origin,
        path: this.basePath + request.path,
        method: request.method,
        headers,
        body: payload,
        signal: controller.signal,
        headersTimeout: this.options.timeoutMs,
        bodyTimeout: this.options.timeoutMs,
      });
      status = response.statusCode;
      const text = await readLimited(response.body);
      const parsed = parseBody(text, response.headers['content-type']);
      const result: ScimResponse = { status, headers: response.headers, ...parsed, dryRun: false };

      if (status === 429 || status === 503) this.closeGate(response.headers['retry-after']);
      if (status < 200 || status >= 300) {
        throw errorForResponse({
          method: request.method,
          path: request.path,
          status,
          headers: response.headers,
          body: parsed.body,
        }, [token]);
      }
      this.report(request, { status, outcome: 'success', durationMs: elapsed() });
      return result;
    } catch (error) {
      const failure = this.classifyFailure(error, request, controller.signal.aborted);
      this.report(request, { status, outcome: 'failure', durationMs: elapsed(), errorCode: failure.code });
      throw failure;
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    if (this.ownsDispatcher) await this.dispatcher.close();
  }

  private classifyFailure(error: unknown, request: ScimRequest, timedOut: boolean): BridgeError {
    if (isBridgeError(error)) return error;
    const where = `${request.method} ${request.path.split('?')[0] ?? ''}`;
    const code = errorCodeOf(error);
    if (timedOut || (code !== undefined && TIMEOUT_CODES.has(code))) {
      return new BridgeError('SCIM_TIMEOUT', `${where} after ${this.options.timeoutMs} ms`, {
        cause: error,
        details: { method: request.method, timeoutMs: this.options.timeoutMs },
      });
    }
    return new BridgeError('SCIM_NETWORK', `${where}: ${code ?? (error instanceof Error ? error.name : 'error')}`, {
      cause: error,
      details: { method: request.method, ...(code ? { errorCode: code } : {}) },
    });
  }

  private closeGate(retryAfter: string | string[] | undefined): void {
    const seconds = parseRetryAfter(retryAfter);
    if (seconds === undefined) return;
    this.gateUntil = Math.max(this.gateUntil, Date.now() + seconds * 1000);
  }

  private async waitForTurn(): Promise<void> {
    await this.passGate();
    const perSecond = this.options.profile.requestsPerSecond;
    if (Number.isFinite(perSecond) && perSecond > 0) {
      const now = Date.now();
      const at = Math.max(now, this.nextSlotAt);
      this.nextSlotAt = at + 1000 / perSecond;
      if (at > now) await sleep(at - now);
      // A 429 may have closed the gate while this request waited for its slot.
      await this.passGate();
    }
  }

  private async passGate(): Promise<void> {
    for (;;) {
      const wait = this.gateUntil - Date.now();
      if (wait <= 0) return;
      if (wait > MAX_GATE_WAIT_MS) {
        const seconds = Math.ceil(wait / 1000);
        throw new BridgeError('SCIM_THROTTLED', `target asked to wait ${seconds} s before the next request`, {
          details: { gated: true },
          retryAfterSeconds: seconds,
        });
      }
      await sleep(wait);
    }
  }

  private report(
    request: ScimRequest,
    result: Pick<ScimExchange, 'status' | 'outcome' | 'durationMs'> & { errorCode?: string | undefined },
  ): void {
    const onExchange = this.options.onExchange;
    if (!onExchange) return;
    const exchange: ScimExchange = {
      target: this.target,
      method: request.method,
      path: request.path,
      status: result.status,
      outcome: result.outcome,
      durationMs: result.durationMs,
    };
    if (request.body !== undefined) exchange.body = request.body;
    if (result.errorCode !== undefined) exchange.errorCode = result.errorCode;
    try {
      onExchange(exchange, request.correlationId);
    } catch {
      // An observer's failure must not turn a write that happened into one that looks failed
      // (the retry would then repeat it); the observer owns its own error reporting.
    }
  }
}

function codeOf(error: unknown): ErrorCode | undefined {
  return isBridgeError(error) ? error.code : undefined;
}

async function readLimited(body: Dispatcher.ResponseData['body']): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_RESPONSE_BYTES) {
      body.destroy();
      throw new BridgeError('SCIM_BAD_RESPONSE', `response larger than ${MAX_RESPONSE_BYTES} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** The JSON object of a response that must carry one, else SCIM_BAD_RESPONSE. */
export function requireObject(response: ScimResponse, what: string): Record<string, unknown> {
  const body = response.body;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new BridgeError('SCIM_BAD_RESPONSE', `${what}: expected a JSON object`, {
      details: { status: response.status, unreadable: response.unreadable },
    });
  }
  return body as Record<string, unknown>;
}
