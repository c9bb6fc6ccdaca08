import { readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { BridgeError } from '../domain/errors.js';

/** A secret whose value is read when needed, so a rotated file takes effect without a restart. */
export interface Secret {
  /** Where it comes from, safe to log (`env:NAME`, `file:/path`), never the value. */
  readonly ref: string;
  value(): string;
}

/** How often a `file:` secret is checked for a change; reads in between are served from memory. */
const FILE_RECHECK_MS = 1_000;

export function resolveSecret(ref: string, baseDir = process.cwd()): Secret {
  if (ref.startsWith('env:')) return envSecret(ref, ref.slice(4));
  if (ref.startsWith('file:')) return fileSecret(ref, resolve(baseDir, ref.slice(5)));
  if (ref.startsWith('vault:')) {
    throw new BridgeError('CONFIG_SECRET_UNRESOLVED', `${ref}: vault references are not supported by this build`);
  }
  // A literal value: allowed for tests and local trials; the ref shown in logs hides it.
  return { ref: 'literal', value: () => ref };
}

function envSecret(ref: string, name: string): Secret {
  const read = (): string => {
    const value = process.env[name];
    if (value === undefined || value.trim() === '') {
      throw new BridgeError('CONFIG_SECRET_UNRESOLVED', `${ref}: environment variable ${name} is not set`);
    }
    return value.trim();
  };
  read();
  return { ref, value: read };
}

function fileSecret(ref: string, path: string): Secret {
  let cached = '';
  let mtimeMs = -1;
  let checkedAt = 0;
  const load = (now: number): string => {
    let stat;
    try {
      stat = statSync(path);
    } catch (cause) {
      throw new BridgeError('CONFIG_SECRET_UNRESOLVED', `${ref}: file cannot be read`, { cause });
    }
    checkedAt = now;
    if (stat.mtimeMs !== mtimeMs) {
      const text = readFileSync(path, 'utf8').trim();
      if (text === '') throw new BridgeError('CONFIG_SECRET_UNRESOLVED', `${ref}: file is empty`);
      cached = text;
      mtimeMs = stat.mtimeMs;
    }
    return cached;
  };
  load(Date.now());
  return {
    ref,
    value() {
      const now = Date.now();
      if (now - checkedAt < FILE_RECHECK_MS) return cached;
      try {
        return load(now);
      } catch {
        // A file being replaced is briefly missing; keep serving the last good value.
        return cached;
      }
    },
  };
}

/** A list of secrets (rotation: any of them is accepted). */
export function resolveSecrets(refs: string | string[], baseDir?: string): Secret[] {
  return (Array.isArray(refs) ? refs : [refs]).map((r) => resolveSecret(r, baseDir));
}
