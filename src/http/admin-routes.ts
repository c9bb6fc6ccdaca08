import { randomUUID, timingSafeEqual, createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { BridgeError } from '../domain/errors.js';
import type { Secret } from '../secrets/secret-ref.js';
import type { Store } from '../store/index.js';

export interface AdminDeps {
  store: Store;
  token: Secret | undefined;
  targets: readonly string[];
  now: () => number;
  onRequeued: () => void;
}

function sameSecret(given: string, expected: string): boolean {
  // Hash both so the comparison is constant-time whatever the lengths.
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/** Operator API. Without `admin.token` configured it is not served at all. */
export function registerAdminRoutes(app: FastifyInstance, deps: AdminDeps): void {
  const token = deps.token;
  if (!token) return;
  app.register(async (admin) => {
    admin.addHook('onRequest', async (req, reply) => {
      const header = req.headers.authorization ?? '';
      const given = header.startsWith('Bearer ') ? header.slice(7) : '';
      if (!given || !sameSecret(given, token.value())) {
        const error = new BridgeError('ADMIN_UNAUTHORIZED');
        return reply.code(401).header('www-authenticate', 'Bearer').send({ error: error.toJSON() });
      }
    });
    admin.get<{ Params: { id: string } }>('/employees/:id', async (req, reply) => {
      const status = await deps.store.employeeStatus(req.params.id);
      if (!status.record && status.pairs.length === 0) return reply.code(404).send({ error: { code: 'NOT_FOUND', message: 'no such employee' } });
      return status;
    });
    admin.post<{ Params: { id: string } }>('/employees/:id/sync', async (req) => {
      const correlationId = randomUUID();
      const n = await deps.store.requeue(req.params.id, deps.targets, deps.now(), correlationId);
      deps.onRequeued();
      return { requeued: n, correlationId };
    });
    admin.post('/reconcile', async () => {
      const correlationId = randomUUID();
      const n = await deps.store.requeue(null, deps.targets, deps.now(), correlationId);
      deps.onRequeued();
      return { requeued: n, correlationId };
    });
    admin.get('/pairs/failed', async () => ({ failed: await deps.store.failedPairs(500) }));
    admin.get('/targets/paused', async () => ({ paused: await deps.store.pausedTargets() }));
    admin.post<{ Params: { name: string } }>('/targets/:name/pause', async (req, reply) => {
      if (!deps.targets.includes(req.params.name)) return reply.code(404).send({ error: { code: 'NOT_FOUND', message: 'no such target' } });
      const at = deps.now();
      await deps.store.pauseTarget(req.params.name, 'paused by an operator', null, at, { at, correlationId: randomUUID(), action: 'target.paused', outcome: 'success', target: req.params.name, details: { by: 'admin' } });
      return { paused: req.params.name };
    });
    admin.post<{ Params: { name: string } }>('/targets/:name/resume', async (req, reply) => {
      if (!deps.targets.includes(req.params.name)) return reply.code(404).send({ error: { code: 'NOT_FOUND', message: 'no such target' } });
      await deps.store.resumeTarget(req.params.name, { at: deps.now(), correlationId: randomUUID(), action: 'target.resumed', outcome: 'success', target: req.params.name, details: { by: 'admin' } });
      deps.onRequeued();
      return { resumed: req.params.name };
    });
    admin.get('/audit/verify', async () => deps.store.verifyAudit());
  }, { prefix: '/admin' });
}
