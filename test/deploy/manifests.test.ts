/**
 * The deployment files are not run by any other test: parse them here, so a broken indentation or a
 * config key the bridge would refuse is caught before an operator applies them.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { configSchema, formatIssues } from '../../src/config.js';

type Manifest = Record<string, unknown> & { apiVersion?: string; kind?: string; metadata?: { name?: string }; spec?: Record<string, unknown>; data?: Record<string, string> };

function load(path: string): unknown[] {
  const docs = parseAllDocuments(readFileSync(path, 'utf8'));
  for (const d of docs) expect([...d.errors, ...d.warnings].map((e) => `${path}: ${e.message}`)).toEqual([]);
  return docs.map((d) => d.toJS({ maxAliasCount: 100 }) as unknown);
}

function expectValidConfig(config: unknown, where: string): void {
  const parsed = configSchema.safeParse(config);
  expect(parsed.success ? [] : formatIssues(parsed.error.issues).map((l) => `${where}: ${l}`)).toEqual([]);
}

describe('deployment files', () => {
  const k8sDir = 'deploy/k8s';
  const manifests = readdirSync(k8sDir)
    .filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml')
    .flatMap((f) => load(join(k8sDir, f)) as Manifest[]);
  const byKind = (kind: string) => manifests.filter((m) => m.kind === kind);

  it('Kubernetes: every manifest is named and typed, and kustomize lists them all', () => {
    for (const m of manifests) expect(m.apiVersion && m.kind && m.metadata?.name, JSON.stringify(m).slice(0, 80)).toBeTruthy();
    const kustomization = load(join(k8sDir, 'kustomization.yaml'))[0] as { resources: string[] };
    expect(kustomization.resources.sort()).toEqual(readdirSync(k8sDir).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml').sort());
    expect(byKind('Deployment').map((m) => m.kind).concat(byKind('Service').map((m) => m.kind), byKind('PodDisruptionBudget').map((m) => m.kind), byKind('ConfigMap').map((m) => m.kind), byKind('Secret').map((m) => m.kind))).toEqual([
      'Deployment',
      'Service',
      'PodDisruptionBudget',
      'ConfigMap',
      'Secret',
    ]);
  });

  it('Kubernetes: several replicas, probes on /livez and /readyz, 30 s to stop, selectors that match', () => {
    const deployment = byKind('Deployment')[0] as Manifest & {
      spec: { replicas: number; selector: { matchLabels: Record<string, string> }; template: { metadata: { labels: Record<string, string> }; spec: { terminationGracePeriodSeconds: number; containers: Array<Record<string, { httpGet?: { path: string } }>> } } };
    };
    expect(deployment.spec.replicas).toBeGreaterThanOrEqual(2);
    expect(deployment.spec.template.spec.terminationGracePeriodSeconds).toBe(30);
    const container = deployment.spec.template.spec.containers[0]!;
    expect(container.livenessProbe?.httpGet?.path).toBe('/livez');
    expect(container.readinessProbe?.httpGet?.path).toBe('/readyz');
    expect(deployment.spec.template.metadata.labels).toMatchObject(deployment.spec.selector.matchLabels);
    for (const kind of ['Service', 'PodDisruptionBudget']) {
      const m = byKind(kind)[0] as Manifest & { spec: { selector: Record<string, unknown> } };
      const selector = (m.spec.selector.matchLabels ?? m.spec.selector) as Record<string, string>;
      expect(deployment.spec.template.metadata.labels, kind).toMatchObject(selector);
    }
  });

  it('Kubernetes and compose: the bridge configs they mount pass the bridge config schema and use PostgreSQL', () => {
    const configMap = byKind('ConfigMap')[0]!;
    const fromK8s = parseAllDocuments(configMap.data!['hr-scim-bridge.yaml']!)[0]!.toJS() as { store: { url: string } };
    expectValidConfig(fromK8s, 'deploy/k8s/configmap.yaml');
    expect(fromK8s.store.url).toMatch(/^postgres:\/\//);
    const fromCompose = load('deploy/hr-scim-bridge.postgres.yaml')[0] as { store: { url: string } };
    expectValidConfig(fromCompose, 'deploy/hr-scim-bridge.postgres.yaml');
    expect(fromCompose.store.url).toMatch(/^postgres:\/\//);
  });

  it('compose: the postgres profile holds PostgreSQL, two replicas and their load balancer', () => {
    const compose = load('docker-compose.yml')[0] as { services: Record<string, { profiles?: string[]; environment?: Record<string, string>; volumes?: string[]; depends_on?: unknown }> };
    const inProfile = Object.entries(compose.services).filter(([, s]) => s.profiles?.includes('postgres')).map(([name]) => name);
    expect(inProfile.sort()).toEqual(['bridge-a', 'bridge-b', 'bridge-lb', 'postgres']);
    for (const name of ['bridge-a', 'bridge-b']) {
      const s = compose.services[name]!;
      expect(Object.keys(s.environment ?? {})).toContain('PGPASSWORD');
      expect(s.volumes).toContain('./deploy/hr-scim-bridge.postgres.yaml:/etc/hr-scim-bridge/hr-scim-bridge.yaml:ro');
    }
    // The default stack is unchanged: its bridge stays on SQLite, outside the profile.
    expect(compose.services.bridge?.profiles).toBeUndefined();
  });
});
