import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The named metrics operators alert on. No employee ids as labels: cardinality stays bounded. */
export interface Metrics {
  registry: Registry;
  webhooksReceived: Counter<'source' | 'outcome'>;
  scimRequests: Counter<'target' | 'method' | 'status_class'>;
  scimRequestDuration: Histogram<'target' | 'method'>;
  syncs: Counter<'target' | 'action' | 'outcome'>;
  dirtyPairs: Gauge<'target'>;
  failedPairs: Gauge<'target'>;
  oldestDirtyPairAge: Gauge;
  targetPaused: Gauge<'target'>;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'hrscim_' });
  const registers = [registry];
  return {
    registry,
    webhooksReceived: new Counter({
      name: 'hrscim_webhooks_received_total',
      help: 'Webhook deliveries received, by source and outcome (accepted, duplicate, rejected_*)',
      labelNames: ['source', 'outcome'],
      registers,
    }),
    scimRequests: new Counter({
      name: 'hrscim_scim_requests_total',
      help: 'SCIM requests sent (or planned in dry-run), by target, method and status class',
      labelNames: ['target', 'method', 'status_class'],
      registers,
    }),
    scimRequestDuration: new Histogram({
      name: 'hrscim_scim_request_duration_seconds',
      help: 'SCIM request duration',
      labelNames: ['target', 'method'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    syncs: new Counter({
      name: 'hrscim_syncs_total',
      help: 'Pair syncs, by target, action (create, update, deactivate, delete, noop, ...) and outcome',
      labelNames: ['target', 'action', 'outcome'],
      registers,
    }),
    dirtyPairs: new Gauge({
      name: 'hrscim_dirty_pairs',
      help: '(target, employee) pairs waiting to be converged',
      labelNames: ['target'],
      registers,
    }),
    failedPairs: new Gauge({
      name: 'hrscim_pairs_failed',
      help: 'Pairs marked failed after their retry budget or a permanent error',
      labelNames: ['target'],
      registers,
    }),
    oldestDirtyPairAge: new Gauge({
      name: 'hrscim_oldest_dirty_pair_age_seconds',
      help: 'Age of the oldest pair waiting to be converged',
      registers,
    }),
    targetPaused: new Gauge({
      name: 'hrscim_target_paused',
      help: '1 while a target is paused (refused credentials or paused by an operator)',
      labelNames: ['target'],
      registers,
    }),
  };
}

export function statusClass(status: number | null): string {
  return status === null ? 'none' : `${Math.floor(status / 100)}xx`;
}
