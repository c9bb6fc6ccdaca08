import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from '../observability/logger.js';
import { registerAdminRoutes, type AdminDeps } from './admin-routes.js';
import { registerOpsRoutes, type Readiness } from './ops-routes.js';
import { registerWebhookRoute, type WebhookDeps } from './webhook-route.js';

export interface ServerDeps {
  webhook: WebhookDeps;
  admin: AdminDeps;
  readiness: Readiness;
  log: Logger;
  bodyLimitBytes: number;
}

/** The HTTP surface, without listen(): tests inject requests, main.ts listens. */
export async function buildServer(deps: ServerDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.log as FastifyBaseLogger,
    // Deliveries and their outcomes are logged as audit events; per-request access lines would only repeat them.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: deps.bodyLimitBytes,
    return503OnClosing: true,
    requestTimeout: 30_000,
  });
  // Signatures cover the exact bytes: keep every body raw and let each source parse it.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  // A request in flight when close() begins is answered, but its keep-alive connection would then sit
  // idle until the client drops it (server.close() only reaps connections idle at the moment it is
  // called), holding shutdown past its budget. Those last answers close their connection instead.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onSend', async (_req, reply, payload) => {
    if (closing) reply.header('connection', 'close');
    return payload;
  });

  app.setErrorHandler((error: { statusCode?: number; code?: string; message: string }, _req, reply) => {
    if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE' || error.statusCode === 413) {
      return reply.code(413).send({ error: { code: 'HRIS_PAYLOAD_TOO_LARGE', kind: 'input', message: `body exceeds the size limit of ${deps.bodyLimitBytes} bytes` } });
    }
    if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
      return reply.code(error.statusCode).send({ error: { code: 'HTTP_BAD_REQUEST', kind: 'input', message: error.message } });
    }
    deps.log.error({ err: error }, 'unhandled error in a request');
    return reply.code(500).send({ error: { code: 'INTERNAL', kind: 'transient', message: 'internal error' } });
  });
  app.setNotFoundHandler((_req, reply) => reply.code(404).send({ error: { code: 'NOT_FOUND', message: 'no such route' } }));

  registerOpsRoutes(app, deps.webhook.metrics, deps.readiness);
  registerWebhookRoute(app, deps.webhook);
  registerAdminRoutes(app, deps.admin);
  await app.ready();
  return app;
}
