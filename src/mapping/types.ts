import type { EmployeeRecord } from '../domain/employee.js';

export type ScimJson = Record<string, unknown>;

/** How one kind of SCIM server wants to be spoken to. Declared in the mapping file's `profile`. */
export interface TargetProfile {
  /** How to change an existing user: PATCH with only what changed, or GET-merge-PUT of the whole user. */
  update: 'patch' | 'put';
  /** Attributes the server can filter users on, tried in this order when no link is known. */
  userLookup: Array<'externalId' | 'userName'>;
  /** Where the manager's SCIM id goes: the enterprise extension, Slack's managerId, or nowhere. */
  manager: 'enterprise' | 'slack' | 'none';
  /** Whether the target takes groups over SCIM at all. */
  groups: boolean;
  /** Most members added in one PATCH request. */
  groupMemberChunk: number;
  /** Most remove operations in one PATCH request (some servers take one only). */
  groupRemoveChunk: number;
  /** Most operations in one user PATCH (Google: 20). */
  maxPatchOperations: number;
  /** Requests per second the target tolerates; the client spaces requests to stay under it. */
  requestsPerSecond: number;
  /** Whether the server can be trusted to parse an escaped quote or backslash in a filter value. */
  escapedFilterValues: boolean;
}

/** What the mapping says one employee's account at one target should be. */
export interface MappedAccount {
  /** The SCIM User body, without id/meta and without the manager (resolved per target). */
  user: ScimJson;
  /** Display names of the groups this account belongs to while active. */
  groups: string[];
  /** HR id of the manager, resolved to that manager's SCIM id at the target by the worker. */
  managerEmployeeId: string | null;
}

export interface MappingContext {
  /** The lifecycle decision: whether the account is to be active. */
  active: boolean;
  /** Today at the bridge, YYYY-MM-DD, for expressions that need it. */
  today: string;
}

export interface CompiledMapping {
  readonly name: string;
  readonly file: string;
  readonly profile: TargetProfile;
  apply(record: EmployeeRecord, context: MappingContext): Promise<MappedAccount>;
}
