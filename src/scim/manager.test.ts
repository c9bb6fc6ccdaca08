import { describe, expect, it } from 'vitest';
import type { ScimJson, TargetProfile } from '../mapping/types.js';
import { withManager } from './manager.js';

const ENT = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const CORE = 'urn:ietf:params:scim:schemas:core:2.0:User';
const profile = (manager: TargetProfile['manager']): TargetProfile => ({
  update: 'patch',
  userLookup: ['externalId'],
  manager,
  groups: true,
  groupMemberChunk: 50,
  groupRemoveChunk: 1,
  maxPatchOperations: 20,
  requestsPerSecond: 10,
  escapedFilterValues: true,
});

describe('withManager', () => {
  const user: ScimJson = { schemas: [CORE], userName: 'ada@example.com', [ENT]: { department: 'R&D' } };

  it('puts the manager in the enterprise extension and declares the extension', () => {
    const out = withManager(user, profile('enterprise'), 'm-1');
    expect(out[ENT]).toEqual({ department: 'R&D', manager: { value: 'm-1' } });
    expect(out.schemas).toEqual([CORE, ENT]);
    expect(user[ENT]).toEqual({ department: 'R&D' });
    expect(user.schemas).toEqual([CORE]);
  });

  it('uses Slack managerId', () => {
    const out = withManager({ userName: 'a' }, profile('slack'), 'U123');
    expect(out).toEqual({ userName: 'a', schemas: [ENT], [ENT]: { manager: { managerId: 'U123' } } });
  });

  it('leaves the user alone for targets without managers', () => {
    expect(withManager(user, profile('none'), 'm-1')).toEqual(user);
  });

  it('drops the manager when there is none at the target', () => {
    const withOne = withManager(user, profile('enterprise'), 'm-1');
    expect(withManager(withOne, profile('enterprise'), null)[ENT]).toEqual({ department: 'R&D' });
    const onlyManager = { userName: 'a', [ENT]: { manager: { value: 'm-1' } } };
    expect(withManager(onlyManager, profile('enterprise'), null)).toEqual({ userName: 'a' });
    expect(onlyManager[ENT]).toEqual({ manager: { value: 'm-1' } });
  });
});
