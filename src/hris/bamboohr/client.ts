import { request, type Dispatcher } from 'undici';
import { BridgeError } from '../../domain/errors.js';
import { parseRetryAfter } from '../../domain/retry-after.js';

export const defaultApiBaseUrl = 'https://api.bamboohr.com';
export const defaultTimeoutMs = 10_000;

/**
 * Standard BambooHR field names read for every employee. `status` is Active/Inactive (account access);
 * `employmentHistoryStatus` is the current employment status (Full-Time, Terminated, Leave of
 * Absence...); `supervisorEId` is the supervisor's employee id, which is what `managerId` must hold.
 */
export const employeeFields = [
  'firstName',
  'lastName',
  'preferredName',
  'workEmail',
  'jobTitle',
  'department',
  'division',
  'location',
  'employeeNumber',
  'status',
  'employmentHistoryStatus',
  'hireDate',
  'terminationDate',
  'supervisorEId',
] as const;

/** Enough for one employee's fields with a wide margin; a larger answer is not what we asked for. */
const maxResponseBytes = 1024 * 1024;

export interface BambooHrClientOptions {
  apiKey: () => string;
  companyDomain: string;
  apiBaseUrl?: string;
  timeoutMs?: number;
  dispatcher?: Dispatcher;
  /** Extra field names or aliases to request, such as an account's custom cost-centre field. */
  extraFields?: readonly string[];
}

export type BambooHrEmployeeJson = Record<string, unknown>;

export interface BambooHrClient {
  /** The employee's fields as BambooHR returns them, or null when BambooHR says there is no such employee. */
  getEmployee(employeeId: string): Promise<BambooHrEmployeeJson | null>;
}


async function readLimited(body: Dispatcher.ResponseData['body']): Promise<string | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
    size += buffer.length;
    if (size > maxResponseBytes) {
      body.destroy();
      return null;
    }
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export function createBambooHrClient(o: BambooHrClientOptions): BambooHrClient {
  const baseUrl = (o.apiBaseUrl ?? defaultApiBaseUrl).replace(/\/+$/, '');
  const timeoutMs = o.timeoutMs ?? defaultTimeoutMs;
  const fields = [...new Set([...employeeFields, ...(o.extraFields ?? [])])];
  const fieldsQuery = fields.map(encodeURIComponent).join(',');

  return {
    async getEmployee(employeeId: string): Promise<BambooHrEmployeeJson | null> {
      if (!/^\d{1,20}$/.test(employeeId)) {
        throw new BridgeError('HRIS_EMPLOYEE_INVALID', 'BambooHR employee ids are numeric', { details: { employeeId } });
      }
      const apiKey = o.apiKey();
      if (!apiKey) {
        throw new BridgeError('HRIS_FETCH_REJECTED', 'no BambooHR API key is configured');
      }
      const credentials = Buffer.from(`${apiKey}:x`, 'utf8').toString('base64');
      // Whatever the HTTP stack reports is scrubbed of the key before it reaches an error or a log.
      const redact = (text: string): string => text.split(apiKey).join('[redacted]').split(credentials).join('[redacted]');

      const url = `${baseUrl}/api/gateway.php/${encodeURIComponent(o.companyDomain)}/v1/employees/${employeeId}/?fields=${fieldsQuery}`;
      const signal = AbortSignal.timeout(timeoutMs);
      const details = { employeeId };

      let response: Dispatcher.ResponseData;
      try {
        response = await request(url, {
          method: 'GET',
          headers: { authorization: `Basic ${credentials}`, accept: 'application/json' },
          signal,
          ...(o.dispatcher ? { dispatcher: o.dispatcher } : {}),
        });
      } catch (error) {
        const timedOut = signal.aborted;
        const reason = error instanceof Error ? redact(`${error.name}: ${error.message}`) : 'unknown error';
        throw new BridgeError('HRIS_FETCH_FAILED', timedOut ? `no answer within ${timeoutMs} ms` : 'network error', {
          details: { ...details, reason: timedOut ? 'timeout' : reason },
        });
      }

      const { statusCode } = response;
      let text: string | null;
      try {
        text = await readLimited(response.body);
      } catch {
        throw new BridgeError('HRIS_FETCH_FAILED', signal.aborted ? `no answer within ${timeoutMs} ms` : 'response was cut off', {
          details: { ...details, status: statusCode },
        });
      }

      if (statusCode === 404) return null;
      if (statusCode === 401 || statusCode === 403) {
        throw new BridgeError('HRIS_FETCH_REJECTED', `BambooHR answered ${statusCode}`, { details: { ...details, status: statusCode } });
      }
      if (statusCode === 429) {
        const retryAfterSeconds = parseRetryAfter(response.headers['retry-after'], Date.now());
        throw new BridgeError('HRIS_FETCH_FAILED', 'BambooHR is rate limiting', {
          details: { ...details, status: statusCode },
          ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }),
        });
      }
      if (statusCode === 408 || statusCode >= 500) {
        throw new BridgeError('HRIS_FETCH_FAILED', `BambooHR answered ${statusCode}`, { details: { ...details, status: statusCode } });
      }
      if (statusCode !== 200) {
        // Redirects and other client errors mean the base URL, domain or field list is wrong: retrying
        // the same request cannot help, so the source needs attention.
        throw new BridgeError('HRIS_FETCH_REJECTED', `BambooHR answered ${statusCode}`, { details: { ...details, status: statusCode } });
      }

      if (text === null) {
        throw new BridgeError('HRIS_EMPLOYEE_INVALID', `response exceeds ${maxResponseBytes} bytes`, { details });
      }
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        throw new BridgeError('HRIS_EMPLOYEE_INVALID', 'response is not JSON', { details });
      }
      if (typeof json !== 'object' || json === null || Array.isArray(json)) {
        throw new BridgeError('HRIS_EMPLOYEE_INVALID', 'response is not a JSON object', { details });
      }
      return json as BambooHrEmployeeJson;
    },
  };
}
