import { describe, expect, it } from 'vitest';
import { BridgeError } from '../domain/errors.js';
import { defaultProfile } from '../mapping/index.js';
import type { ScimTarget } from '../scim/types.js';
import { MembershipBatcher } from './membership-batcher.js';
import { syncContext } from './sync-context.js';
import type { TargetRuntime } from './target-runtime.js';

function target(addMembers: ScimTarget['addMembers']): TargetRuntime {
  const unused = () => Promise.reject(new Error('not used'));
  return {
    name: 't',
    mode: 'live',
    scim: { name: 't', addMembers, removeMembers: unused, findUser: unused, getUser: unused, createUser: unused, updateUser: unused, deleteUser: unused, findGroup: unused, createGroup: unused, close: () => Promise.resolve() },
    mapping: { name: 'm', file: 'm.yaml', profile: { ...defaultProfile, groupMemberChunk: 3 }, apply: unused },
    policy: { preStartDays: 0, leave: 'active', delete: 'never', graceDays: 30 },
    credentialFingerprint: () => 'x',
  };
}

describe('membership batcher', () => {
  it('sends concurrent adds to one group as one request per chunk, each sync seeing the request', async () => {
    const calls: string[][] = [];
    const t = target((_g, ids) => {
      calls.push(ids);
      return Promise.resolve();
    });
    const batcher = new MembershipBatcher();
    const contexts = ['u1', 'u2', 'u3', 'u4'].map(() => ({ exchanges: [] as never[] }));
    await Promise.all(['u1', 'u2', 'u3', 'u4'].map((u, i) => syncContext.run(contexts[i]!, () => batcher.change(t, 'g1', 'add', u, 'c'))));
    expect(calls).toEqual([['u1', 'u2', 'u3'], ['u4']]);
  });

  it('isolates a member the target refuses, and fails all on a transient error', async () => {
    const refused = target((_g, ids) => (ids.includes('bad') ? Promise.reject(new BridgeError('SCIM_REJECTED', 'no such member')) : Promise.resolve()));
    const batcher = new MembershipBatcher();
    const results = await Promise.allSettled(['u1', 'bad'].map((u) => batcher.change(refused, 'g1', 'add', u, 'c')));
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected']);

    const down = target(() => Promise.reject(new BridgeError('SCIM_SERVER_ERROR', '503')));
    const failed = await Promise.allSettled(['u1', 'u2'].map((u) => batcher.change(down, 'g1', 'add', u, 'c')));
    expect(failed.map((r) => r.status)).toEqual(['rejected', 'rejected']);
  });
});
