import type { ScimJson } from '../mapping/types.js';
import { confirmNotFound } from './confirm-not-found.js';
import { requireObject, type ScimContext } from './request.js';
import { PATCH_OP_SCHEMA, SERVER_OWNED, USER_SCHEMA, isRecord, resourcePath, withSchemas } from './resources.js';
import { getUser } from './users.js';

export interface PatchOperation {
  op: 'replace' | 'remove';
  path: string;
  value?: unknown;
}

/** Never diffed: server-owned, or (schemas) implied by the attributes themselves. */
const NOT_DIFFED = new Set([...SERVER_OWNED, 'schemas']);
/**
 * Never removed even when the mapping stops producing them: userName is required, the account is
 * keyed on externalId, and servers (AWS) refuse to remove active; a mapping dropping one of them
 * is a mistake to surface elsewhere, not an instruction to strip the account.
 */
const NEVER_REMOVED = new Set(['userName', 'externalId', 'active']);

const absent = (value: unknown): boolean => value === undefined || value === null;

/**
 * Whether `current` already holds everything `desired` says, ignoring what the server added
 * (`display`, `$ref`, a computed `name.formatted`). Multi-valued attributes match as sets.
 */
export function covers(current: unknown, desired: unknown): boolean {
  if (absent(desired)) return absent(current);
  if (Array.isArray(desired)) {
    if (!Array.isArray(current) || current.length !== desired.length) return false;
    const unused = [...current];
    return desired.every((item) => {
      const index = unused.findIndex((candidate) => covers(candidate, item));
      if (index < 0) return false;
      unused.splice(index, 1);
      return true;
    });
  }
  if (isRecord(desired)) {
    if (!isRecord(current)) return false;
    return Object.entries(desired).every(([key, value]) => covers(current[key], value));
  }
  return current === desired;
}

function diffComplex(
  prefix: string,
  desired: Record<string, unknown>,
  current: Record<string, unknown>,
  ops: PatchOperation[],
  pruneAbsent: boolean,
): void {
  for (const [key, value] of Object.entries(desired)) {
    if (value === undefined) continue;
    if (value === null) {
      if (!absent(current[key])) ops.push({ op: 'remove', path: `${prefix}${key}` });
    } else if (!covers(current[key], value)) {
      ops.push({ op: 'replace', path: `${prefix}${key}`, value });
    }
  }
  if (!pruneAbsent) return;
  for (const [key, value] of Object.entries(current)) {
    if (!(key in desired) && !absent(value)) ops.push({ op: 'remove', path: `${prefix}${key}` });
  }
}

/**
 * The PatchOp operations that take `current` to `desired`. Sub-attributes and extension attributes
 * get their own paths; multi-valued attributes are replaced whole, since a valuePath replace fails
 * with noTarget on servers where the value is missing. An explicit null in `desired` removes.
 * An attribute that `desired` merely lacks is removed only when `current` is the last applied body:
 * the mapping set it before and has stopped. A server copy (it carries the server's `id`, as when
 * an account is adopted) also holds attributes the mapping never managed, which are left alone.
 */
export function diffUser(desired: ScimJson, current: ScimJson): PatchOperation[] {
  const ops: PatchOperation[] = [];
  const pruneAbsent = current.id === undefined;
  for (const [key, value] of Object.entries(desired)) {
    if (NOT_DIFFED.has(key) || value === undefined) continue;
    const before = current[key];
    if (value === null) {
      if (!absent(before) && !NEVER_REMOVED.has(key)) ops.push({ op: 'remove', path: key });
    } else if (isRecord(value) && key.startsWith('urn:')) {
      diffComplex(`${key}:`, value, isRecord(before) ? before : {}, ops, pruneAbsent);
    } else if (isRecord(value) && isRecord(before)) {
      diffComplex(`${key}.`, value, before, ops, pruneAbsent);
    } else if (!covers(before, value)) {
      ops.push({ op: 'replace', path: key, value });
    }
  }
  if (!pruneAbsent) return ops;
  for (const [key, value] of Object.entries(current)) {
    if (key in desired || NOT_DIFFED.has(key) || NEVER_REMOVED.has(key) || absent(value)) continue;
    if (isRecord(value) && key.startsWith('urn:')) {
      // Removing a whole extension by its URN is not understood everywhere; its attributes are.
      diffComplex(`${key}:`, {}, value, ops, true);
    } else {
      ops.push({ op: 'remove', path: key });
    }
  }
  return ops;
}

/** PatchOp bodies of at most `maxOperations` operations each, in order. */
export function patchBodies(ops: PatchOperation[], maxOperations: number): ScimJson[] {
  const size = Math.max(1, Math.floor(maxOperations) || 1);
  const bodies: ScimJson[] = [];
  for (let i = 0; i < ops.length; i += size) {
    bodies.push({ schemas: [PATCH_OP_SCHEMA], Operations: ops.slice(i, i + size) });
  }
  return bodies;
}

function clone<T>(value: T): T {
  return structuredClone(value);
}

/** Deletes one diff path (`a`, `a.b`, `urn:...:a`) from a resource body. */
function deletePath(body: ScimJson, path: string): void {
  const urn = path.startsWith('urn:') ? Object.keys(body).find((key) => key.startsWith('urn:') && path.startsWith(`${key}:`)) : undefined;
  if (urn) {
    const extension = body[urn];
    if (isRecord(extension)) delete extension[path.slice(urn.length + 1)];
    return;
  }
  const [head, sub] = path.split('.', 2) as [string, string | undefined];
  if (sub === undefined) {
    delete body[head];
    return;
  }
  const parent = body[head];
  if (isRecord(parent)) delete parent[sub];
}

/**
 * The whole user for a PUT: the server's copy with `desired` laid over it (complex attributes merged
 * one level deep, so server-computed sub-attributes survive), minus what the mapping stopped
 * producing. Omitted attributes are cleared by PUT on several servers, and a missing `active` has
 * suspended users (Okta-style servers), so `active` is always carried explicitly.
 */
export function mergeForPut(desired: ScimJson, server: ScimJson, lastApplied: ScimJson): ScimJson {
  const merged: ScimJson = {};
  for (const [key, value] of Object.entries(server)) {
    if (!SERVER_OWNED.has(key)) merged[key] = clone(value);
  }
  for (const [key, value] of Object.entries(desired)) {
    if (NOT_DIFFED.has(key) || value === undefined) continue;
    const base = merged[key];
    if (value === null) {
      delete merged[key];
    } else if (isRecord(value) && isRecord(base)) {
      const next: Record<string, unknown> = { ...base };
      for (const [sub, subValue] of Object.entries(value)) {
        if (subValue === null) delete next[sub];
        else if (subValue !== undefined) next[sub] = clone(subValue);
      }
      merged[key] = next;
    } else {
      merged[key] = clone(value);
    }
  }
  for (const op of diffUser(desired, lastApplied)) {
    if (op.op === 'remove') deletePath(merged, op.path);
  }
  const active = desired.active ?? server.active ?? lastApplied.active;
  if (active !== undefined && active !== null) merged.active = active;
  const extensions = Object.keys(merged).filter((key) => key.startsWith('urn:') && isRecord(merged[key]));
  merged.schemas = withSchemas(server.schemas, USER_SCHEMA, ...withSchemas(desired.schemas), ...extensions);
  return merged;
}

/**
 * Converges an existing account. PATCH profile: only the differences, split to the target's
 * operation limit. PUT profile: GET, merge, PUT the whole. A 404 on the write is confirmed with a
 * GET before it is reported as SCIM_NOT_FOUND, because some servers answer 404 for a method they
 * do not route (Google's HTML 404 on PUT) and the caller would otherwise recreate a live account.
 */
export async function updateUser(
  ctx: ScimContext,
  id: string,
  desired: ScimJson,
  current: ScimJson,
  correlationId?: string,
): Promise<void> {
  const ops = diffUser(desired, current);
  if (ops.length === 0) return;
  const path = resourcePath('Users', id);

  if (ctx.profile.update === 'put') {
    // An account created in this dry run exists nowhere to be read; the caller's copy stands in.
    const server =
      ctx.http.mode !== 'live' && id.startsWith('dry-run:')
        ? current
        : requireObject(await ctx.http.send({ method: 'GET', path, correlationId }), 'user read before replace');
    const body = mergeForPut(desired, server, current);
    await confirmUserNotFound(ctx, id, correlationId, () => ctx.http.send({ method: 'PUT', path, body, correlationId, dryRunBody: body }));
    return;
  }

  for (const body of patchBodies(ops, ctx.profile.maxPatchOperations)) {
    await confirmUserNotFound(ctx, id, correlationId, () => ctx.http.send({ method: 'PATCH', path, body, correlationId }));
  }
}

/** An update answered 404 while the account is still there is refused, not taken as a deleted account. */
function confirmUserNotFound(ctx: ScimContext, id: string, correlationId: string | undefined, write: () => Promise<unknown>): Promise<void> {
  return confirmNotFound(write, async () => (await getUser(ctx, id, correlationId)) !== null, {
    code: 'SCIM_REJECTED',
    message: 'the target answered 404 to an update of an account it still has',
  });
}
