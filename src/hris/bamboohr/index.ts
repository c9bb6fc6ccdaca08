import { createHash } from 'node:crypto';
import type { Dispatcher } from 'undici';
import type { EmployeeRecord } from '../../domain/employee.js';
import type { ParsedDelivery, SourceAdapter, WebhookRequest } from '../source.js';
import { createBambooHrClient } from './client.js';
import { normaliseBambooHrEmployee, toIntake } from './normalise.js';
import { parseBambooHrJson, parseBambooHrPayload } from './payload.js';
import { defaultToleranceSeconds, verifyBambooHrWebhook } from './verify.js';

export interface BambooHrSourceOptions {
  name: string;
  /** Webhook private keys, read on every request so that a rotated key takes effect without a restart. */
  secrets: () => string[];
  /** API key for reading employees, read on every fetch for the same reason. */
  apiKey: () => string;
  /** The account's subdomain, as in https://<companyDomain>.bamboohr.com. */
  companyDomain: string;
  apiBaseUrl?: string;
  toleranceSeconds?: number;
  timeoutMs?: number;
  dispatcher?: Dispatcher;
  /** Field name or alias holding the cost centre; BambooHR has no standard one. */
  costCenterField?: string;
  /** Injected clock for the fetch time. */
  now?: () => Date;
}

/**
 * BambooHR sends no delivery id. A hash of the signed timestamp and body identifies a delivery: a
 * redelivery of the same bytes is then recognised as a repeat.
 */
export function bambooHrDeliveryId(timestamp: string, rawBody: Buffer): string {
  return createHash('sha256').update(`${timestamp}\n`, 'utf8').update(rawBody).digest('hex');
}

export function createBambooHrSource(o: BambooHrSourceOptions): SourceAdapter {
  const toleranceSeconds = o.toleranceSeconds ?? defaultToleranceSeconds;
  const now = o.now ?? (() => new Date());
  const client = createBambooHrClient({
    apiKey: o.apiKey,
    companyDomain: o.companyDomain,
    ...(o.apiBaseUrl === undefined ? {} : { apiBaseUrl: o.apiBaseUrl }),
    ...(o.timeoutMs === undefined ? {} : { timeoutMs: o.timeoutMs }),
    ...(o.dispatcher === undefined ? {} : { dispatcher: o.dispatcher }),
    ...(o.costCenterField === undefined ? {} : { extraFields: [o.costCenterField] }),
  });

  return {
    name: o.name,
    type: 'bamboohr',
    verify(request: WebhookRequest): void {
      verifyBambooHrWebhook(request, { secrets: o.secrets(), toleranceSeconds });
    },
    parse(request: WebhookRequest): ParsedDelivery {
      const event = parseBambooHrPayload(parseBambooHrJson(request.rawBody));
      const timestamp = request.headers['x-bamboohr-timestamp'] ?? '';
      return {
        deliveryId: bambooHrDeliveryId(timestamp, request.rawBody),
        eventType: event.eventType,
        intake: toIntake(event),
      };
    },
    async fetchEmployee(employeeId: string): Promise<EmployeeRecord | null> {
      // Taken before the request: the answer is at least this fresh, never claimed fresher than it is.
      const fetchedAt = now();
      const json = await client.getEmployee(employeeId);
      if (json === null) return null;
      return normaliseBambooHrEmployee(employeeId, json, {
        fetchedAt,
        ...(o.costCenterField === undefined ? {} : { costCenterField: o.costCenterField }),
      });
    },
  };
}

export { createBambooHrClient, employeeFields } from './client.js';
export { bambooHrStatus, normaliseBambooHrEmployee } from './normalise.js';
export { signBambooHrContent, verifyBambooHrWebhook } from './verify.js';
