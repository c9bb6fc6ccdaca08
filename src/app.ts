import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { DestinationStream } from 'pino';
import type { Dispatcher } from 'undici';
import type { Config } from './config.js';
import { isBridgeError } from './domain/errors.js';
import { createBambooHrSource } from './hris/bamboohr/index.js';
import type { SourceAdapter } from './hris/source.js';
import { createStandardWebhooksSource } from './hris/standard-webhooks/index.js';
import { buildServer } from './http/server.js';
import { loadMappings } from './mapping/index.js';
import { auditLines } from './observability/audit-lines.js';
import { createLogger, type Logger } from './observability/logger.js';
import { createMetrics, statusClass, type Metrics } from './observability/metrics.js';
import { createScimTarget } from './scim/index.js';
import type { ScimExchange } from './scim/types.js';
import { OAuth2Token } from './secrets/oauth2-token.js';
import { resolveSecret, resolveSecrets, type Secret } from './secrets/secret-ref.js';
import { openStore, type Store } from './store/index.js';
import { syncContext } from './worker/sync-context.js';
import type { TargetRuntime } from './worker/target-runtime.js';
import { Worker } from './worker/worker.js';

export interface AppOptions {
  baseDir?: string;
  now?: () => number;
  logDestination?: DestinationStream;
  /** Replaces every outgoing HTTP connection (tests). */
  dispatcher?: Dispatcher;
  /** Run the claim loop in this process (serve) or not (tests drive it with runUntilIdle). */
  startWorker?: boolean;
  http?: boolean;
}

export interface App {
  config: Config;
  store: Store;
  worker: Worker;
  server: FastifyInstance | null;
  metrics: Metrics;
  log: Logger;
  targets: ReadonlyMap<string, TargetRuntime>;
  /** Stops claiming, drains HTTP, releases leases and closes the store. */
  close(): Promise<void>;
}

const VERSION = '0.1.0';

/** Builds the whole service from a validated config. Every start-up problem surfaces here, before listen(). */
export async function createApp(config: Config, options: AppOptions = {}): Promise<App> {
  const baseDir = options.baseDir ?? process.cwd();
  const now = options.now ?? Date.now;
  const log = createLogger(config.log.level, options.logDestination);
  const metrics = createMetrics();
  let shuttingDown = false;

  const secrets: Secret[] = [];
  const track = <T extends Secret | Secret[]>(s: T): T => {
    secrets.push(...(Array.isArray(s) ? s : [s]));
    return s;
  };

  const sources = new Map<string, SourceAdapter>();
  for (const s of config.sources) {
    const keys = track(resolveSecrets(s.secret, baseDir));
    const values = () => keys.map((k) => k.value());
    if (s.type === 'standard-webhooks') {
      sources.set(s.name, createStandardWebhooksSource({ name: s.name, secrets: values, toleranceSeconds: s.toleranceSeconds }));
    } else {
      const apiKey = track(resolveSecret(s.apiKey, baseDir));
      sources.set(
        s.name,
        createBambooHrSource({ name: s.name, secrets: values, apiKey: () => apiKey.value(), companyDomain: s.companyDomain, apiBaseUrl: s.apiBaseUrl, toleranceSeconds: s.toleranceSeconds, ...(options.dispatcher ? { dispatcher: options.dispatcher } : {}), now: () => new Date(now()) }),
      );
    }
  }

  const mappings = await loadMappings(config.targets.map((t) => resolve(baseDir, t.mapping)));
  const oauthTokens: OAuth2Token[] = [];
  const targets = new Map<string, TargetRuntime>();
  for (const t of config.targets) {
    const mapping = mappings.get(resolve(baseDir, t.mapping));
    if (!mapping) throw new Error(`mapping ${t.mapping} was not loaded`);
    let token: () => string;
    // What an operator changes to fix refused credentials: the bearer token, or the OAuth client secret
    // (not the access token, which changes at every refresh).
    let credential: () => string;
    if (t.auth.type === 'bearer') {
      const secret = track(resolveSecret(t.auth.token, baseDir));
      token = () => secret.value();
      credential = token;
    } else {
      const clientSecret = track(resolveSecret(t.auth.clientSecret, baseDir));
      const oauth = new OAuth2Token({ tokenUrl: t.auth.tokenUrl, clientId: t.auth.clientId, clientSecret, ...(t.auth.scope ? { scope: t.auth.scope } : {}) });
      if (t.mode !== 'dry-run') await oauth.start();
      oauthTokens.push(oauth);
      token = () => oauth.value();
      credential = () => clientSecret.value();
    }
    const profile = { ...mapping.profile, ...(t.requestsPerSecond ? { requestsPerSecond: t.requestsPerSecond } : {}) };
    const scim = createScimTarget(
      { target: t.name, baseUrl: t.baseUrl, token, profile, mode: t.mode, timeoutMs: t.timeoutMs, maxConnections: config.worker.concurrency, userAgent: `hr-scim-bridge/${VERSION}`, onExchange: (x, cid) => onExchange(x, cid) },
      options.dispatcher,
    );
    targets.set(t.name, {
      name: t.name,
      mode: t.mode,
      scim,
      mapping: { name: mapping.name, file: mapping.file, profile, apply: (r, c) => mapping.apply(r, c) },
      policy: { ...mapping.policy, ...(t.policy ?? {}) },
      credentialFingerprint: () => createHash('sha256').update(credential()).digest('hex').slice(0, 16),
    });
  }

  function onExchange(x: ScimExchange, correlationId: string | undefined): void {
    metrics.scimRequests.inc({ target: x.target, method: x.method, status_class: x.outcome === 'dry-run' ? 'dry_run' : statusClass(x.status) });
    if (x.outcome !== 'dry-run') metrics.scimRequestDuration.observe({ target: x.target, method: x.method }, x.durationMs / 1000);
    syncContext.getStore()?.exchanges.push(x);
    log.info(
      {
        event: { kind: 'event', category: ['iam'], type: ['change'], action: 'scim.request', outcome: x.outcome === 'failure' ? 'failure' : 'success', duration: Math.round(x.durationMs * 1e6) },
        labels: { target: x.target, mode: x.outcome === 'dry-run' ? 'dry-run' : 'live' },
        trace: { id: correlationId },
        http: { request: { method: x.method }, response: { status_code: x.status ?? undefined } },
        url: { path: x.path },
        hr_scim: { request_body: x.body, error_code: x.errorCode },
      },
      `SCIM ${x.method} ${x.path} ${x.outcome === 'dry-run' ? '(dry-run, not sent)' : String(x.status ?? x.errorCode)}`,
    );
  }

  const onAudit = auditLines(log);

  const store = await openStore(config.store.url, onAudit, baseDir);
  const targetNames = [...targets.keys()];
  const worker = new Worker({ store, targets, sources, log, metrics, now }, config.worker);

  const statsTimer = setInterval(() => void refreshGauges().catch(() => undefined), 5_000);
  statsTimer.unref();
  async function refreshGauges(): Promise<void> {
    const stats = await store.stats();
    for (const name of targetNames) {
      metrics.dirtyPairs.set({ target: name }, stats.dirtyByTarget[name] ?? 0);
      metrics.failedPairs.set({ target: name }, stats.failedByTarget[name] ?? 0);
    }
    metrics.oldestDirtyPairAge.set(stats.oldestDirtySince === null ? 0 : Math.max(0, (now() - stats.oldestDirtySince) / 1000));
  }
  await refreshGauges();

  const adminToken = config.admin ? track(resolveSecret(config.admin.token, baseDir)) : undefined;
  const server =
    options.http === false
      ? null
      : await buildServer({
          log,
          bodyLimitBytes: config.server.bodyLimitBytes,
          webhook: { store, sources, targets: targetNames, metrics, log, now, onCommitted: () => worker.wake() },
          admin: { store, token: adminToken, targets: targetNames, now, onRequeued: () => worker.wake() },
          readiness: {
            async problems() {
              const problems: string[] = [];
              if (shuttingDown) problems.push('shutting down');
              try {
                await store.ping();
              } catch {
                problems.push('store unavailable');
              }
              for (const s of secrets) {
                try {
                  s.value();
                } catch (error) {
                  problems.push(isBridgeError(error) ? error.message : `secret ${s.ref} unavailable`);
                }
              }
              return problems;
            },
          },
        });

  if (options.startWorker ?? true) worker.start();

  return {
    config,
    store,
    worker,
    server,
    metrics,
    log,
    targets,
    async close() {
      shuttingDown = true;
      clearInterval(statsTimer);
      await Promise.all([worker.stop(), server?.close()]);
      for (const t of oauthTokens) t.stop();
      await Promise.all([...targets.values()].map((t) => t.scim.close()));
      await store.close();
    },
  };
}
