import type { ParsedDelivery, SourceAdapter, WebhookRequest } from '../source.js';
import { toIntake } from './normalise.js';
import { parseJsonBody, payloadInvalid } from '../payload-errors.js';
import { parseStandardWebhookPayload } from './payload.js';
import { defaultToleranceSeconds, readStandardWebhookHeaders, verifyStandardWebhook } from './verify.js';

export interface StandardWebhooksSourceOptions {
  name: string;
  /** Called on every request so that a rotated secret takes effect without a restart. */
  secrets: () => string[];
  toleranceSeconds?: number;
}

/** Visible ASCII only: the id becomes the dedupe key and appears in logs and audit rows. */
const deliveryIdPattern = /^[\x21-\x7e]{1,256}$/;

export function createStandardWebhooksSource(o: StandardWebhooksSourceOptions): SourceAdapter {
  const toleranceSeconds = o.toleranceSeconds ?? defaultToleranceSeconds;
  return {
    name: o.name,
    type: 'standard-webhooks',
    verify(request: WebhookRequest): void {
      verifyStandardWebhook(request, { secrets: o.secrets(), toleranceSeconds });
    },
    parse(request: WebhookRequest): ParsedDelivery {
      const id = readStandardWebhookHeaders(request.headers)?.id;
      if (id === undefined || !deliveryIdPattern.test(id)) {
        throw payloadInvalid([
          { path: ['headers', 'webhook-id'], message: 'expected 1 to 256 visible ASCII characters' },
        ]);
      }
      const event = parseStandardWebhookPayload(parseJsonBody(request.rawBody));
      return { deliveryId: id, eventType: event.type, intake: toIntake(event) };
    },
  };
}

export { signStandardWebhookContent, verifyStandardWebhook } from './verify.js';
