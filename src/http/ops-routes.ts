import type { FastifyInstance } from 'fastify';
import type { Metrics } from '../observability/metrics.js';

export interface Readiness {
  /** Empty when ready; otherwise what is not (store, secrets, shutting down...). */
  problems(): Promise<string[]>;
}

export function registerOpsRoutes(app: FastifyInstance, metrics: Metrics, readiness: Readiness): void {
  app.get('/livez', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    const problems = await readiness.problems();
    return reply.code(problems.length ? 503 : 200).send({ status: problems.length ? 'not ready' : 'ready', problems });
  });
  app.get('/metrics', async (_req, reply) => {
    return reply.header('content-type', metrics.registry.contentType).send(await metrics.registry.metrics());
  });
}
