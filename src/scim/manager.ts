import type { ScimJson, TargetProfile } from '../mapping/types.js';
import { ENTERPRISE_SCHEMA, isRecord, withSchemas } from './resources.js';

/**
 * The user with its manager set the way the target wants it: the enterprise extension's
 * `manager.value` (RFC 7643 §4.3), or Slack's `manager.managerId`. Both take the manager's id at
 * the target, not the HR id. A null id (no manager, or one not provisioned there yet) leaves no
 * manager, so a diff against the last applied state clears a manager who is no longer one.
 */
export function withManager(user: ScimJson, profile: TargetProfile, managerScimId: string | null): ScimJson {
  if (profile.manager === 'none') return user;
  const extension: Record<string, unknown> = isRecord(user[ENTERPRISE_SCHEMA]) ? { ...user[ENTERPRISE_SCHEMA] } : {};
  const result: ScimJson = { ...user };
  if (managerScimId === null) {
    if (!('manager' in extension)) return result;
    delete extension.manager;
  } else {
    extension.manager = profile.manager === 'slack' ? { managerId: managerScimId } : { value: managerScimId };
    result.schemas = withSchemas(user.schemas, ENTERPRISE_SCHEMA);
  }
  if (Object.keys(extension).length > 0) result[ENTERPRISE_SCHEMA] = extension;
  else delete result[ENTERPRISE_SCHEMA];
  return result;
}
