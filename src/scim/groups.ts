import { BridgeError, isBridgeError } from '../domain/errors.js';
import type { ScimGroup } from './types.js';
import { confirmNotFound } from './confirm-not-found.js';
import { canFilterOn, filterQuery } from './filter.js';
import { requireObject, type ScimContext } from './request.js';
import { GROUP_SCHEMA, PATCH_OP_SCHEMA, idFromLocation, isRecord, resourcePath, resourcesOf } from './resources.js';

/** Bounds the client-side scan used when a group name cannot be put in a filter. */
const SCAN_PAGE_SIZE = 100;
const SCAN_MAX_PAGES = 50;

function asGroups(resources: Record<string, unknown>[]): ScimGroup[] {
  return resources.filter(
    (resource): resource is ScimGroup => typeof resource.id === 'string' && resource.id !== '' && typeof resource.displayName === 'string',
  );
}

function exactlyOne(groups: ScimGroup[], displayName: string): ScimGroup | null {
  const matches = groups.filter((group) => group.displayName === displayName);
  const ids = [...new Set(matches.map((group) => group.id))];
  if (ids.length > 1) {
    throw new BridgeError('SCIM_AMBIGUOUS_MATCH', `${ids.length} groups are named alike`, { details: { ids } });
  }
  return matches[0] ?? null;
}

/**
 * The group with exactly this displayName. The server's filter result is verified here; a name the
 * target cannot be trusted to parse is found by paging through the groups instead.
 */
export async function findGroup(ctx: ScimContext, displayName: string, correlationId?: string): Promise<ScimGroup | null> {
  if (!canFilterOn(displayName, ctx.profile)) return scanGroups(ctx, displayName, correlationId);
  try {
    const response = await ctx.http.send({
      method: 'GET',
      path: `/Groups?${filterQuery('displayName', displayName)}`,
      correlationId,
    });
    return exactlyOne(asGroups(resourcesOf(response, 'group search')), displayName);
  } catch (error) {
    if (isBridgeError(error, 'SCIM_NOT_FOUND')) return null;
    throw error;
  }
}

async function scanGroups(ctx: ScimContext, displayName: string, correlationId: string | undefined): Promise<ScimGroup | null> {
  const seen = new Map<string, ScimGroup>();
  for (let page = 0; page < SCAN_MAX_PAGES; page += 1) {
    const startIndex = page * SCAN_PAGE_SIZE + 1;
    const response = await ctx.http.send({
      method: 'GET',
      path: `/Groups?startIndex=${startIndex}&count=${SCAN_PAGE_SIZE}`,
      correlationId,
    });
    const resources = resourcesOf(response, 'group list');
    // Index paging skips and repeats when groups change meanwhile: de-duplicate by id.
    for (const group of asGroups(resources)) seen.set(group.id, group);
    const total = isRecord(response.body) && typeof response.body.totalResults === 'number' ? response.body.totalResults : undefined;
    if (resources.length === 0 || (total !== undefined && startIndex - 1 + resources.length >= total)) break;
  }
  return exactlyOne([...seen.values()], displayName);
}

/** POST /Groups; when the group already exists (409) the existing one is returned. */
export async function createGroup(ctx: ScimContext, displayName: string, correlationId?: string): Promise<ScimGroup> {
  const body = { schemas: [GROUP_SCHEMA], displayName, members: [] };
  try {
    const response = await ctx.http.send({
      method: 'POST',
      path: '/Groups',
      body,
      correlationId,
      dryRunBody: { ...body, id: `dry-run:group:${displayName}` },
    });
    if (isRecord(response.body) && Object.keys(response.body).length > 0) {
      const group = requireObject(response, 'group create');
      if (typeof group.id !== 'string' || group.id === '') throw new BridgeError('SCIM_BAD_RESPONSE', 'group create: the group has no id');
      return { ...group, id: group.id, displayName: typeof group.displayName === 'string' ? group.displayName : displayName };
    }
    const id = idFromLocation(response.headers.location);
    if (!id) throw new BridgeError('SCIM_BAD_RESPONSE', 'group create: no resource and no Location in the answer');
    return { id, displayName, members: [] };
  } catch (error) {
    if (!isBridgeError(error, 'SCIM_CONFLICT')) throw error;
    const existing = await findGroup(ctx, displayName, correlationId);
    if (existing) return existing;
    throw error;
  }
}

function chunks<T>(items: T[], size: number): T[][] {
  const step = Math.max(1, Math.floor(size) || 1);
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += step) out.push(items.slice(i, i + step));
  return out;
}

/** Adds members, chunked per profile. A 409 means they are members already, which is the goal. */
export async function addMembers(ctx: ScimContext, groupId: string, userIds: string[], correlationId?: string): Promise<void> {
  const path = resourcePath('Groups', groupId);
  for (const chunk of chunks([...new Set(userIds)], ctx.profile.groupMemberChunk)) {
    const body = {
      schemas: [PATCH_OP_SCHEMA],
      Operations: [{ op: 'add', path: 'members', value: chunk.map((id) => ({ value: id })) }],
    };
    try {
      await confirmGroupNotFound(ctx, groupId, correlationId, () => ctx.http.send({ method: 'PATCH', path, body, correlationId }));
    } catch (error) {
      if (!isBridgeError(error, 'SCIM_CONFLICT')) throw error;
    }
  }
}

/**
 * Removes members one filtered path each (`members[value eq "<id>"]`): a bare `remove members`
 * empties the whole group on Slack and others. Chunked per profile (Entra takes one per request).
 */
export async function removeMembers(ctx: ScimContext, groupId: string, userIds: string[], correlationId?: string): Promise<void> {
  const path = resourcePath('Groups', groupId);
  const send = (ids: string[]): Promise<unknown> =>
    confirmGroupNotFound(ctx, groupId, correlationId, () =>
      ctx.http.send({
        method: 'PATCH',
        path,
        body: {
          schemas: [PATCH_OP_SCHEMA],
          Operations: ids.map((id) => ({ op: 'remove', path: `members[value eq ${JSON.stringify(id)}]` })),
        },
        correlationId,
      }),
    );
  for (const chunk of chunks([...new Set(userIds)], ctx.profile.groupRemoveChunk)) {
    try {
      await send(chunk);
    } catch (error) {
      if (!isNoTarget(error)) throw error;
      // PATCH is atomic: one member already gone fails the whole request. Retry one by one, and a
      // member that is not there any more is what was asked for.
      if (chunk.length === 1) continue;
      for (const id of chunk) {
        try {
          await send([id]);
        } catch (single) {
          if (!isNoTarget(single)) throw single;
        }
      }
    }
  }
}

/**
 * A 404 to a group change is taken as "the group is gone" (the worker forgets its id and finds or
 * makes it again) only once a read of the group agrees; otherwise the change is retried later, and
 * no replica sends later changes to another group.
 */
function confirmGroupNotFound(ctx: ScimContext, groupId: string, correlationId: string | undefined, write: () => Promise<unknown>): Promise<void> {
  const exists = async () => {
    try {
      await ctx.http.send({ method: 'GET', path: `${resourcePath('Groups', groupId)}?excludedAttributes=members`, correlationId });
      return true;
    } catch (read) {
      if (isBridgeError(read, 'SCIM_NOT_FOUND')) return false;
      throw read;
    }
  };
  return confirmNotFound(write, exists, { code: 'SCIM_SERVER_ERROR', message: 'the target answered 404 to a change of a group it still has' });
}

function isNoTarget(error: unknown): boolean {
  return isBridgeError(error, 'SCIM_REJECTED') && error.details.scimType === 'noTarget';
}
