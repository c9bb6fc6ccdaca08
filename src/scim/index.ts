import type { Dispatcher } from 'undici';
import type { ScimClientOptions, ScimTarget } from './types.js';
import { ScimRequester, type ScimContext } from './request.js';
import { createUser, deleteUser, findUser, getUser } from './users.js';
import { updateUser } from './patch.js';
import { addMembers, createGroup, findGroup, removeMembers } from './groups.js';

export { withManager } from './manager.js';
export { eqFilter, filterQuery, canFilterOn } from './filter.js';
export { codeForStatus, parseRetryAfter, parseScimError } from './classify.js';
export { diffUser, mergeForPut } from './patch.js';

/**
 * One client per configured target. All its operations share one connection pool, one rate limit
 * and one Retry-After gate, so concurrent workers cannot together overrun the target.
 * `dispatcher` replaces the connection pool (tests pass an undici MockAgent); it is not closed.
 */
export function createScimTarget(options: ScimClientOptions, dispatcher?: Dispatcher): ScimTarget {
  const ctx: ScimContext = { http: new ScimRequester(options, dispatcher), profile: options.profile };
  return {
    name: options.target,
    findUser: (externalId, userName, correlationId) => findUser(ctx, externalId, userName, correlationId),
    getUser: (id, correlationId) => getUser(ctx, id, correlationId),
    createUser: (body, correlationId) => createUser(ctx, body, correlationId),
    updateUser: (id, desired, current, correlationId) => updateUser(ctx, id, desired, current, correlationId),
    deleteUser: (id, correlationId) => deleteUser(ctx, id, correlationId),
    findGroup: (displayName, correlationId) => findGroup(ctx, displayName, correlationId),
    createGroup: (displayName, correlationId) => createGroup(ctx, displayName, correlationId),
    addMembers: (groupId, userIds, correlationId) => addMembers(ctx, groupId, userIds, correlationId),
    removeMembers: (groupId, userIds, correlationId) => removeMembers(ctx, groupId, userIds, correlationId),
    close: () => ctx.http.close(),
  };
}
