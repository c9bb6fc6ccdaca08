import { BridgeError, isBridgeError } from '../domain/errors.js';
import type { ScimJson } from '../mapping/types.js';
import type { ScimUser } from './types.js';
import { canFilterOn, filterQuery } from './filter.js';
import { requireObject, type ScimContext } from './request.js';
import {
  ENTERPRISE_SCHEMA,
  SERVER_OWNED,
  USER_SCHEMA,
  idFromLocation,
  isRecord,
  resourcePath,
  resourcesOf,
  withSchemas,
} from './resources.js';

function asUser(resource: Record<string, unknown>, what: string): ScimUser {
  if (typeof resource.id !== 'string' || resource.id === '') {
    throw new BridgeError('SCIM_BAD_RESPONSE', `${what}: the user has no id`);
  }
  return resource as ScimUser;
}

/**
 * Finds the account of one employee by the lookup attributes of the profile, in order. The server's
 * filter is only a hint: every result is checked here (externalId exactly, userName ignoring case),
 * because naive parsers and servers that ignore filters return other people's accounts.
 * A value the target cannot be trusted to parse is not searched on; the caller still has its link.
 */
export async function findUser(
  ctx: ScimContext,
  externalId: string,
  userName: string | undefined,
  correlationId?: string,
): Promise<ScimUser | null> {
  for (const attr of ctx.profile.userLookup) {
    const value = attr === 'externalId' ? externalId : userName;
    if (!value || !canFilterOn(value, ctx.profile)) continue;
    const matches = await search(ctx, attr, value, correlationId);
    if (matches === null) continue;
    const verified = matches.filter((user) =>
      attr === 'externalId'
        ? user.externalId === value
        : typeof user.userName === 'string' && user.userName.toLowerCase() === value.toLowerCase(),
    );
    const ids = [...new Set(verified.map((user) => user.id))];
    if (ids.length > 1) {
      throw new BridgeError('SCIM_AMBIGUOUS_MATCH', `${ids.length} accounts match ${attr}`, {
        details: { attribute: attr, ids },
      });
    }
    if (verified[0]) return verified[0];
  }
  return null;
}

async function search(
  ctx: ScimContext,
  attr: string,
  value: string,
  correlationId: string | undefined,
): Promise<ScimUser[] | null> {
  try {
    const response = await ctx.http.send({ method: 'GET', path: `/Users?${filterQuery(attr, value)}`, correlationId });
    return resourcesOf(response, 'user search')
      .filter((resource) => typeof resource.id === 'string' && resource.id !== '')
      .map((resource) => resource as ScimUser);
  } catch (error) {
    // Some servers answer a search without hits with 404 instead of an empty ListResponse.
    if (isBridgeError(error, 'SCIM_NOT_FOUND')) return [];
    // A server whose parser cannot take this (correctly escaped) value cannot be asked this way;
    // the next lookup attribute, or the stored link, has to do.
    if (isBridgeError(error, 'SCIM_REJECTED') && error.details.scimType === 'invalidFilter') return null;
    throw error;
  }
}

export async function getUser(ctx: ScimContext, id: string, correlationId?: string): Promise<ScimUser | null> {
  try {
    const response = await ctx.http.send({ method: 'GET', path: resourcePath('Users', id), correlationId });
    return asUser(requireObject(response, 'user read'), 'user read');
  } catch (error) {
    if (isBridgeError(error, 'SCIM_NOT_FOUND')) return null;
    throw error;
  }
}

/** The body as a create or replace sends it: no server-owned attributes, schemas declared. */
export function userBody(body: ScimJson): ScimJson {
  const out: ScimJson = {};
  for (const [key, value] of Object.entries(body)) {
    if (!SERVER_OWNED.has(key) && value !== undefined) out[key] = value;
  }
  const extensions = isRecord(out[ENTERPRISE_SCHEMA]) ? [ENTERPRISE_SCHEMA] : [];
  out.schemas = withSchemas(body.schemas, USER_SCHEMA, ...extensions);
  return out;
}

/** POST /Users. A 409 is left as SCIM_CONFLICT: the caller looks the account up and adopts it. */
export async function createUser(ctx: ScimContext, body: ScimJson, correlationId?: string): Promise<ScimUser> {
  const sent = userBody(body);
  const handle = typeof sent.externalId === 'string' ? sent.externalId : String(sent.userName ?? '');
  const response = await ctx.http.send({
    method: 'POST',
    path: '/Users',
    body: sent,
    correlationId,
    dryRunBody: { ...sent, id: `dry-run:${handle}` },
  });
  if (isRecord(response.body) && Object.keys(response.body).length > 0) {
    return asUser(response.body, 'user create');
  }
  // Some servers answer 201 with no body; the Location header still names the new account.
  const id = idFromLocation(response.headers.location);
  if (!id) throw new BridgeError('SCIM_BAD_RESPONSE', 'user create: no resource and no Location in the answer');
  return { ...sent, id };
}

/** DELETE /Users/<id>. An account that is already gone is what was asked for. */
export async function deleteUser(ctx: ScimContext, id: string, correlationId?: string): Promise<void> {
  try {
    await ctx.http.send({ method: 'DELETE', path: resourcePath('Users', id), correlationId });
  } catch (error) {
    if (isBridgeError(error, 'SCIM_NOT_FOUND')) return;
    throw error;
  }
}
