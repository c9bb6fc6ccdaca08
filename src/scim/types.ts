import type { ScimJson, TargetProfile } from '../mapping/types.js';

export interface ScimUser extends ScimJson {
  id: string;
  userName?: string;
  externalId?: string;
  active?: boolean;
}

export interface ScimGroup extends ScimJson {
  id: string;
  displayName: string;
  members?: Array<{ value: string; display?: string }>;
}

/** One outgoing SCIM request as it was (or, in dry-run, would have been) sent: the audit evidence. */
export interface ScimExchange {
  target: string;
  method: string;
  path: string;
  /** The request body, as sent. Never holds credentials (they live in headers only). */
  body?: unknown;
  status: number | null;
  outcome: 'success' | 'failure' | 'dry-run';
  durationMs: number;
  errorCode?: string;
}

export interface ScimClientOptions {
  target: string;
  baseUrl: string;
  /** Called for every request; the token may change at any time (secret rotation). */
  token: () => string;
  profile: TargetProfile;
  /** live: reads and writes; shadow: real reads, no writes; dry-run: nothing is sent at all (the target is planned as empty). */
  mode: 'live' | 'shadow' | 'dry-run';
  timeoutMs: number;
  /** Connections kept open to the target; one per sync that can run at once is enough. */
  maxConnections?: number;
  userAgent: string;
  /** Called once per request with what happened, for audit rows, logs and metrics. */
  onExchange?: (exchange: ScimExchange, correlationId: string | undefined) => void;
}

/**
 * One SCIM server. Every method goes through a single request chokepoint that adds auth, content
 * types, the timeout, the rate limit, dry-run and the classification of failures into BridgeErrors.
 */
export interface ScimTarget {
  readonly name: string;
  /** Look a user up by externalId, then userName, verifying each result; >1 match is SCIM_AMBIGUOUS_MATCH. */
  findUser(externalId: string, userName: string | undefined, correlationId?: string): Promise<ScimUser | null>;
  getUser(id: string, correlationId?: string): Promise<ScimUser | null>;
  /** 409 surfaces as BridgeError SCIM_CONFLICT (signal): the caller looks up and adopts. */
  createUser(body: ScimJson, correlationId?: string): Promise<ScimUser>;
  /**
   * Converge `current` (as read or last applied) to `desired`: PATCH of the differences, or PUT of
   * the merged whole, per profile. No request when nothing differs. 404 surfaces as SCIM_NOT_FOUND.
   */
  updateUser(id: string, desired: ScimJson, current: ScimJson, correlationId?: string): Promise<void>;
  deleteUser(id: string, correlationId?: string): Promise<void>;
  findGroup(displayName: string, correlationId?: string): Promise<ScimGroup | null>;
  createGroup(displayName: string, correlationId?: string): Promise<ScimGroup>;
  addMembers(groupId: string, userIds: string[], correlationId?: string): Promise<void>;
  removeMembers(groupId: string, userIds: string[], correlationId?: string): Promise<void>;
  close(): Promise<void>;
}
