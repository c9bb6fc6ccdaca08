import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { BridgeError, isBridgeError } from '../domain/errors.js';
import type { SourceAdapter, WebhookRequest } from '../hris/source.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { Store } from '../store/index.js';

export interface WebhookDeps {
  store: Store;
  sources: ReadonlyMap<string, SourceAdapter>;
  targets: readonly string[];
  metrics: Metrics;
  log: Logger;
  now: () => number;
  /** Told after each committed change so the worker starts at once. */
  onCommitted: () => void;
}

const JSON_TYPE = /^application\/([a-z0-9.+-]*\+)?json\b/i;
const TEXT_TYPE = /^text\/plain\b/i;

/**
 * POST /webhooks/:source. Order matters: cheap refusals first, the signature before anything is
 * parsed, and 202 only once the delivery is committed.
 */
export function registerWebhookRoute(app: FastifyInstance, deps: WebhookDeps): void {
  app.post<{ Params: { source: string } }>('/webhooks/:source', async (req, reply) => {
    const correlationId = randomUUID();
    const receivedAt = deps.now();
    const sourceName = req.params.source;
    const source = deps.sources.get(sourceName);
    const fail = (error: BridgeError) => reject(reply, deps, sourceName, correlationId, error);
    if (!source) return fail(new BridgeError('HRIS_SOURCE_UNKNOWN', `"${sourceName.slice(0, 64)}"`));

    const contentType = String(req.headers['content-type'] ?? '');
    if (!JSON_TYPE.test(contentType) && !TEXT_TYPE.test(contentType)) {
      return fail(new BridgeError('HRIS_CONTENT_TYPE', 'send application/json'));
    }
    const rawBody = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const request: WebhookRequest = { rawBody, headers: lowerCaseHeaders(req.headers), receivedAt: new Date(receivedAt) };

    try {
      source.verify(request);
    } catch (error) {
      return fail(asBridgeError(error, 'HRIS_SIGNATURE_INVALID'));
    }

    let parsed;
    try {
      parsed = source.parse(request);
    } catch (error) {
      const bridgeError = asBridgeError(error, 'HRIS_PAYLOAD_INVALID');
      // Authentic but unusable: keep the body so an operator can see what the HRIS sent.
      await deps.store
        .rejectDelivery({ source: sourceName, deliveryId: null, receivedAt, correlationId, code: bridgeError.code, reason: bridgeError.message, body: rawBody.toString('utf8') })
        .catch((e: unknown) => deps.log.error({ err: e }, 'could not record a rejected delivery'));
      deps.metrics.webhooksReceived.inc({ source: sourceName, outcome: 'rejected_payload' });
      return reply.code(bridgeError.status).send({ error: bridgeError.toJSON(), correlationId });
    }

    let result;
    try {
      result = await deps.store.intake({ source: sourceName, deliveryId: parsed.deliveryId, eventType: parsed.eventType, receivedAt, correlationId, intake: parsed.intake, targets: deps.targets });
    } catch (error) {
      deps.log.error({ err: error, trace: { id: correlationId }, event: { action: 'delivery.store', outcome: 'failure' } }, 'store unavailable for a webhook');
      deps.metrics.webhooksReceived.inc({ source: sourceName, outcome: 'store_unavailable' });
      const bridgeError = new BridgeError('STORE_UNAVAILABLE', 'try again later');
      return reply.code(503).header('retry-after', '5').send({ error: bridgeError.toJSON(), correlationId });
    }
    deps.metrics.webhooksReceived.inc({ source: sourceName, outcome: result.duplicate ? 'duplicate' : 'accepted' });
    if (result.duplicate) return reply.code(200).send({ status: 'duplicate', deliveryId: parsed.deliveryId, correlationId });
    deps.onCommitted();
    return reply.code(202).send({ status: 'accepted', deliveryId: parsed.deliveryId, correlationId, applied: result.applied, ignored: result.ignored });
  });
}

function reject(reply: FastifyReply, deps: WebhookDeps, source: string, correlationId: string, error: BridgeError): FastifyReply {
  const outcome = error.status === 401 ? 'rejected_signature' : error.status === 404 ? 'rejected_source' : 'rejected_request';
  deps.metrics.webhooksReceived.inc({ source: error.code === 'HRIS_SOURCE_UNKNOWN' ? 'unknown' : source, outcome });
  deps.log.warn(
    { event: { action: 'delivery.rejected', category: ['iam'], outcome: 'failure', reason: error.code }, trace: { id: correlationId }, labels: { source: source.slice(0, 64) } },
    error.message,
  );
  return reply.code(error.status).send({ error: error.toJSON(), correlationId });
}

function asBridgeError(error: unknown, fallback: 'HRIS_SIGNATURE_INVALID' | 'HRIS_PAYLOAD_INVALID'): BridgeError {
  if (isBridgeError(error)) return error;
  return new BridgeError(fallback, undefined, { cause: error });
}

function lowerCaseHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(headers)) out[k.toLowerCase()] = Array.isArray(v) ? v.join(' ') : v;
  return out;
}
