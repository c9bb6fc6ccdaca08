import { BridgeError } from '../domain/errors.js';
import type { ScimResponse } from './request.js';

export const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const GROUP_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Group';
export const ENTERPRISE_SCHEMA = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
export const PATCH_OP_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

/** Attributes the server owns (RFC 7643 readOnly): sending them back makes strict servers refuse. */
export const SERVER_OWNED = new Set(['id', 'meta', 'groups']);

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `/Users/<id>` with the id percent-encoded: ids are opaque and some servers use userNames. */
export function resourcePath(collection: 'Users' | 'Groups', id: string): string {
  return `/${collection}/${encodeURIComponent(id)}`;
}

/**
 * The resources of a ListResponse. `Resources` may be absent when there are none (RFC 7644
 * §3.4.2) and some servers (Entra, Google) spell it `resources`.
 */
export function resourcesOf(response: ScimResponse, what: string): Record<string, unknown>[] {
  const body = response.body;
  if (!isRecord(body)) {
    throw new BridgeError('SCIM_BAD_RESPONSE', `${what}: expected a ListResponse object`, {
      details: { status: response.status },
    });
  }
  const list = body.Resources ?? body.resources;
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list)) {
    throw new BridgeError('SCIM_BAD_RESPONSE', `${what}: Resources is not a list`, { details: { status: response.status } });
  }
  return list.filter(isRecord);
}

/** `schemas` with the given URNs added once each, keeping whatever the body already declared. */
export function withSchemas(existing: unknown, ...required: string[]): string[] {
  const schemas = Array.isArray(existing) ? existing.filter((s): s is string => typeof s === 'string') : [];
  for (const urn of required) if (!schemas.includes(urn)) schemas.push(urn);
  return schemas;
}

/** The id a resource's Location header names, for servers that answer 201 with no body. */
export function idFromLocation(location: string | string[] | undefined): string | undefined {
  const value = Array.isArray(location) ? location[0] : location;
  if (!value) return undefined;
  const last = value.replace(/[?#].*$/, '').replace(/\/+$/, '').split('/').pop();
  return last ? decodeURIComponent(last) : undefined;
}
