/**
 * Real SCIM 2.0 service providers, each in its own child process, for end-to-end tests of the
 * SCIM client. State is read back only through the server's own SCIM API, so assertions see
 * exactly what a directory consumer would see.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';

export type ScimServerKind = 'better-auth' | 'scimmy';

export type ScimServerHandle = {
  kind: ScimServerKind;
  /** Ends in `/scim/v2`, no trailing slash. */
  baseUrl: string;
  token: string;
  /** The server's process, for benchmarks that measure its CPU. */
  pid: number | undefined;
  listUsers(): Promise<Array<Record<string, unknown>>>;
  /** Every group with its `members`. */
  listGroups(): Promise<Array<Record<string, unknown>>>;
  stop(): Promise<void>;
};

const READY_TIMEOUT_MS = 20_000;
const STOP_GRACE_MS = 5_000;
// better-auth rejects count > 100; staying at its cap keeps one paging loop valid for both.
const PAGE_SIZE = 100;

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const scripts: Record<ScimServerKind, string> = {
  'better-auth': fileURLToPath(new URL('./better-auth-server.ts', import.meta.url)),
  scimmy: fileURLToPath(new URL('./scimmy-server.ts', import.meta.url)),
};

type Child = ChildProcessByStdio<Writable, Readable, Readable>;

export async function startScimServer(kind: ScimServerKind): Promise<ScimServerHandle> {
  // cwd is the repo root so `--import tsx` resolves the project's own tsx.
  const child: Child = spawn(process.execPath, ['--import', 'tsx', scripts[kind]], {
    cwd: repoRoot,
    // stdin stays an open pipe that is never written: its EOF tells the child we are gone.
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  // A pipe to a dead child can still emit EPIPE; that must not crash the test run.
  child.stdin.on('error', () => undefined);
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-8_000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  let ready: { baseUrl: string; token: string };
  try {
    ready = await waitForReadyLine(child, kind, () => stderr);
  } catch (err) {
    await kill(child, exited);
    throw err;
  }

  const { baseUrl, token } = ready;
  const get = async (path: string): Promise<Record<string, unknown>> => {
    const res = await fetch(`${baseUrl}${path}`, {
      headers: { authorization: `Bearer ${token}`, accept: 'application/scim+json' },
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${kind} GET ${path} -> ${res.status}: ${text}`);
    return JSON.parse(text) as Record<string, unknown>;
  };
  const listAll = async (endpoint: '/Users' | '/Groups'): Promise<Array<Record<string, unknown>>> => {
    const all: Array<Record<string, unknown>> = [];
    for (;;) {
      const page = await get(`${endpoint}?startIndex=${all.length + 1}&count=${PAGE_SIZE}`);
      const resources = (page.Resources as Array<Record<string, unknown>> | undefined) ?? [];
      all.push(...resources);
      const total = typeof page.totalResults === 'number' ? page.totalResults : all.length;
      // An empty page before totalResults is reached would otherwise loop forever.
      if (all.length >= total || resources.length === 0) return all;
    }
  };

  return {
    kind,
    baseUrl,
    token,
    pid: child.pid,
    listUsers: () => listAll('/Users'),
    async listGroups() {
      const groups = await listAll('/Groups');
      // A list response may legitimately omit members; the single-resource GET is authoritative.
      return Promise.all(
        groups.map(async (g) => ('members' in g ? g : get(`/Groups/${encodeURIComponent(String(g.id))}`))),
      );
    },
    stop: () => kill(child, exited),
  };
}

function waitForReadyLine(
  child: Child,
  kind: ScimServerKind,
  stderr: () => string,
): Promise<{ baseUrl: string; token: string }> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    const fail = (why: string) => {
      cleanup();
      reject(new Error(`${kind} SCIM server ${why}.\n--- child stderr ---\n${stderr() || '(empty)'}`));
    };
    const timer = setTimeout(() => fail(`did not report ready within ${READY_TIMEOUT_MS / 1000} s`), READY_TIMEOUT_MS);
    const onData = (chunk: string) => {
      buffered += chunk;
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl).trim();
        buffered = buffered.slice(nl + 1);
        const parsed = parseReady(line);
        if (parsed) {
          cleanup();
          resolve(parsed);
          return;
        }
      }
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null) =>
      fail(`exited before ready (code ${code}, signal ${signal})`);
    const onError = (err: Error) => fail(`could not be spawned: ${err.message}`);
    function cleanup() {
      clearTimeout(timer);
      child.stdout.off('data', onData);
      child.off('exit', onExit);
      child.off('error', onError);
      // Keep draining stdout so a chatty child never blocks on a full pipe.
      child.stdout.resume();
    }
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', onData);
    child.once('exit', onExit);
    child.once('error', onError);
  });
}

function parseReady(line: string): { baseUrl: string; token: string } | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const value = JSON.parse(line) as { baseUrl?: unknown; token?: unknown };
    if (typeof value.baseUrl === 'string' && typeof value.token === 'string') {
      return { baseUrl: value.baseUrl, token: value.token };
    }
  } catch {
    // Not the ready line.
  }
  return undefined;
}

async function kill(child: Child, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.stdin.destroy();
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
  await exited;
  clearTimeout(timer);
}
