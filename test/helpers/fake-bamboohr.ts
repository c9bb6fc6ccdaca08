import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A stand-in for the BambooHR API on 127.0.0.1: GET one employee, in the documented JSON shape
 * (`{"id":"123","firstName":...}` with only the requested fields), behind HTTP Basic auth with the
 * API key as user name.
 */

export type FakeEmployeeFields = Record<string, string | number | null>;

export interface RecordedRequest {
  method: string;
  url: string;
  path: string;
  fields: string[];
  authorization: string | undefined;
  accept: string | undefined;
}

export interface FakeFailure {
  status: 503 | 429 | 500 | 502;
  retryAfter?: string;
}

export interface FakeBambooHr {
  /** Pass as `apiBaseUrl`. */
  readonly baseUrl: string;
  readonly companyDomain: string;
  apiKey: string;
  readonly employees: Map<string, FakeEmployeeFields>;
  readonly requests: RecordedRequest[];
  setEmployee(id: string, fields: FakeEmployeeFields): void;
  deleteEmployee(id: string): void;
  /** The next `count` requests answer `status` (429 may carry Retry-After) instead of the employee. */
  failNext(count: number, status: FakeFailure['status'], options?: { retryAfter?: string }): void;
  /** The next `count` requests get no answer at all, to exercise client timeouts. */
  hangNext(count: number): void;
  close(): Promise<void>;
}

export interface FakeBambooHrOptions {
  apiKey?: string;
  companyDomain?: string;
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': typeof body === 'string' ? 'text/plain' : 'application/json', ...headers });
  res.end(text);
}

export async function startFakeBambooHr(options: FakeBambooHrOptions = {}): Promise<FakeBambooHr> {
  const companyDomain = options.companyDomain ?? 'acme';
  const employees = new Map<string, FakeEmployeeFields>();
  const requests: RecordedRequest[] = [];
  const failures: FakeFailure[] = [];
  let hangs = 0;
  const hanging = new Set<ServerResponse>();

  const state = { apiKey: options.apiKey ?? 'fake-bamboohr-api-key' };
  const routePattern = new RegExp(`^/api/gateway\\.php/([^/]+)/v1/employees/([^/]+)/?$`);

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const fieldsParam = url.searchParams.get('fields');
    const fields = fieldsParam ? fieldsParam.split(',').filter((field) => field.length > 0) : [];
    requests.push({
      method: req.method ?? '',
      url: req.url ?? '',
      path: url.pathname,
      fields,
      authorization: req.headers.authorization,
      accept: req.headers.accept,
    });

    if (hangs > 0) {
      hangs -= 1;
      hanging.add(res);
      return;
    }
    const failure = failures.shift();
    if (failure) {
      send(res, failure.status, 'Service Unavailable', failure.retryAfter ? { 'retry-after': failure.retryAfter } : {});
      return;
    }

    const expected = `Basic ${Buffer.from(`${state.apiKey}:x`).toString('base64')}`;
    if (req.headers.authorization !== expected) {
      send(res, 401, 'Unauthorized', { 'www-authenticate': 'Basic realm="BambooHR"' });
      return;
    }
    if (req.method !== 'GET') {
      send(res, 405, 'Method Not Allowed');
      return;
    }
    const match = routePattern.exec(url.pathname);
    if (!match || decodeURIComponent(match[1] ?? '') !== companyDomain) {
      send(res, 404, 'Not Found');
      return;
    }
    const id = decodeURIComponent(match[2] ?? '');
    const employee = employees.get(id);
    if (!employee) {
      send(res, 404, '');
      return;
    }
    // BambooHR answers only the requested fields (null when a field has no value) plus the id.
    const answer: Record<string, string | number | null> = { id };
    for (const field of fields) answer[field] = employee[field] ?? null;
    send(res, 200, answer);
  };

  const server = createServer(handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    baseUrl: `http://127.0.0.1:${port}`,
    companyDomain,
    get apiKey() {
      return state.apiKey;
    },
    set apiKey(value: string) {
      state.apiKey = value;
    },
    employees,
    requests,
    setEmployee(id, fields) {
      employees.set(id, fields);
    },
    deleteEmployee(id) {
      employees.delete(id);
    },
    failNext(count, status, failOptions = {}) {
      for (let i = 0; i < count; i += 1) {
        failures.push({ status, ...(failOptions.retryAfter === undefined ? {} : { retryAfter: failOptions.retryAfter }) });
      }
    },
    hangNext(count) {
      hangs += count;
    },
    async close() {
      for (const res of hanging) res.destroy();
      hanging.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
    },
  };
}
