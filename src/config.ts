import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { BridgeError } from './domain/errors.js';

const secretRef = z.string().min(1, 'a secret reference (env:NAME, file:/path) is required');
const secretRefs = z.union([secretRef, z.array(secretRef).min(1)]);
const name = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/i, 'use letters, digits, - and _ (at most 63)');

const standardWebhooksSource = z.strictObject({
  name,
  type: z.literal('standard-webhooks'),
  secret: secretRefs,
  toleranceSeconds: z.number().int().min(1).max(3600).default(300),
});

const bambooHrSource = z.strictObject({
  name,
  type: z.literal('bamboohr'),
  secret: secretRefs,
  apiKey: secretRef,
  companyDomain: z.string().regex(/^[a-z0-9-]+$/i, 'the BambooHR company subdomain'),
  apiBaseUrl: z.url().default('https://api.bamboohr.com'),
  toleranceSeconds: z.number().int().min(1).max(3600).default(300),
});

const bearerAuth = z.strictObject({ type: z.literal('bearer'), token: secretRef });
const oauth2Auth = z.strictObject({
  type: z.literal('oauth2'),
  tokenUrl: z.url(),
  clientId: z.string().min(1),
  clientSecret: secretRef,
  scope: z.string().optional(),
});

const policy = z.strictObject({
  preStartDays: z.number().int().min(0).max(60).optional(),
  leave: z.enum(['active', 'inactive']).optional(),
  delete: z.enum(['never', 'after-grace']).optional(),
  graceDays: z.number().int().min(0).max(3650).optional(),
});

const target = z.strictObject({
  name,
  baseUrl: z.url().transform((u) => u.replace(/\/+$/, '')),
  auth: z.discriminatedUnion('type', [bearerAuth, oauth2Auth]),
  mapping: z.string().min(1),
  mode: z.enum(['live', 'dry-run', 'shadow']).default('live'),
  policy: policy.optional(),
  timeoutMs: z.number().int().min(100).max(120_000).default(15_000),
  requestsPerSecond: z.number().positive().max(10_000).optional(),
});

export const configSchema = z
  .strictObject({
    server: z
      .strictObject({
        host: z.string().min(1).default('0.0.0.0'),
        port: z.number().int().min(0).max(65535).default(8080),
        bodyLimitBytes: z.number().int().min(1024).max(10 * 1024 * 1024).default(256 * 1024),
      })
      .prefault({}),
    store: z.strictObject({
      url: z.string().regex(/^(sqlite:|postgres:\/\/|postgresql:\/\/)/, 'use sqlite:<path> or postgres://...'),
    }),
    admin: z.strictObject({ token: secretRef }).optional(),
    sources: z.array(z.discriminatedUnion('type', [standardWebhooksSource, bambooHrSource])).min(1),
    targets: z.array(target).min(1),
    worker: z
      .strictObject({
        enabled: z.boolean().default(true),
        concurrency: z.number().int().min(1).max(256).default(8),
        leaseSeconds: z.number().int().min(5).max(3600).default(120),
        pollMs: z.number().int().min(10).max(60_000).default(250),
        maxAttempts: z.number().int().min(1).max(100).default(10),
      })
      .prefault({}),
    log: z.strictObject({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info') }).prefault({}),
  })
  .superRefine((c, ctx) => {
    for (const [key, list] of [['sources', c.sources], ['targets', c.targets]] as const) {
      const seen = new Set<string>();
      list.forEach((item, i) => {
        if (seen.has(item.name)) ctx.addIssue({ code: 'custom', path: [key, i, 'name'], message: `duplicate name "${item.name}"` });
        seen.add(item.name);
      });
    }
  });

export type Config = z.infer<typeof configSchema>;
export type SourceConfig = Config['sources'][number];
export type TargetConfig = Config['targets'][number];

export interface LoadedConfig {
  config: Config;
  /** Relative `file:` secrets and mapping paths resolve against the working directory. */
  baseDir: string;
  path: string;
}

/** One line per problem, each naming the key, so an operator can fix them all in one go. */
export function formatIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.map((issue) => {
    const key = issue.path.length ? issue.path.map(String).join('.') : '(top level)';
    if (issue.code === 'unrecognized_keys') return `${key}: unknown key(s) ${issue.keys.join(', ')}`;
    return `${key}: ${issue.message}`;
  });
}

export function parseConfig(raw: unknown): Config {
  const result = configSchema.safeParse(raw);
  if (!result.success) {
    const lines = formatIssues(result.error.issues);
    throw new BridgeError('CONFIG_INVALID', `\n${lines.join('\n')}`, { details: { problems: lines } });
  }
  return deepFreeze(result.data);
}

export function loadConfig(path: string): LoadedConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    throw new BridgeError('CONFIG_INVALID', `${path}: cannot be read`, { cause });
  }
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (cause) {
    throw new BridgeError('CONFIG_INVALID', `${path}: not valid YAML: ${(cause as Error).message}`, { cause });
  }
  return { config: parseConfig(raw), baseDir: process.cwd(), path: dirname(path) };
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
