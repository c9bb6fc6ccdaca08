import { describe, expect, it } from 'vitest';
import { BridgeError } from '../domain/errors.js';
import { defaultProfile } from '../mapping/index.js';
import type { ScimTarget } from '../scim/types.js';
import { MembershipBatcher } from './membership-batcher.js';
import { syncContext } from './sync-context.js';
import type { TargetRuntime } from './target-runtime.js';

function target(addMembers: ScimTarget['addMembers'], chunk = 3): TargetRuntime {
  const unused = () => Promise.reject(new Error('not used'));
  return {
    name: 't',
    mode: 'live',
    scim: { name: 't', addMembers, removeMembers: unused, findUser: unused, getUser: unused, createUser: unused, updateUser: unused, deleteUser: unused, findGroup: unused, createGroup: unused, close: () => Promise.resolve() },
    mapping: { name: 'm', file: 'm.yaml', profile: { ...defaultProfile, groupMemberChunk: chunk }, apply: unused },
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
    const batcher = new MembershipBatcher({ quietMs: 10, maxWaitMs: 100, backlogMaxWaitMs: 100 });
    const contexts = ['u1', 'u2', 'u3', 'u4'].map(() => ({ exchanges: [] as never[] }));
    await Promise.all(['u1', 'u2', 'u3', 'u4'].map((u, i) => syncContext.run(contexts[i]!, () => batcher.change(t, 'g1', 'add', u, 'c'))));
    expect(calls).toEqual([['u1', 'u2', 'u3'], ['u4']]);
  });

  it('isolates a member the target refuses, and fails all on a transient error', async () => {
    const refused = target((_g, ids) => (ids.includes('bad') ? Promise.reject(new BridgeError('SCIM_REJECTED', 'no such member')) : Promise.resolve()));
    const batcher = new MembershipBatcher({ quietMs: 10, maxWaitMs: 100, backlogMaxWaitMs: 100 });
    const results = await Promise.allSettled(['u1', 'bad'].map((u) => batcher.change(refused, 'g1', 'add', u, 'c')));
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected']);

    const down = target(() => Promise.reject(new BridgeError('SCIM_SERVER_ERROR', '503')));
    const failed = await Promise.allSettled(['u1', 'u2'].map((u) => batcher.change(down, 'g1', 'add', u, 'c')));
    expect(failed.map((r) => r.status)).toEqual(['rejected', 'rejected']);
  });

  it('sends one request at a time per group, and what arrives meanwhile goes out together next', async () => {
    let release: () => void = () => undefined;
    const calls: string[][] = [];
    const t = target((_g, ids) => {
      calls.push(ids);
      return calls.length === 1 ? new Promise<void>((r) => (release = r)) : Promise.resolve();
    });
    let parkedSeen = 0;
    const batcher: MembershipBatcher = new MembershipBatcher({ quietMs: 20, maxWaitMs: 1_000, backlogMaxWaitMs: 1_000 }, () => (parkedSeen = batcher.parked));
    const first = batcher.change(t, 'g1', 'add', 'u1', 'c');
    await new Promise((r) => setTimeout(r, 40));
    expect(calls).toEqual([['u1']]);
    const later = ['u2', 'u3'].map((u) => batcher.change(t, 'g1', 'add', u, 'c'));
    await new Promise((r) => setTimeout(r, 60));
    // Quiet for longer than quietMs, but the group's first request has not been answered.
    expect(calls).toEqual([['u1']]);
    expect([batcher.parked, parkedSeen]).toEqual([3, 3]);
    release();
    await Promise.all([first, ...later]);
    expect(calls).toEqual([['u1'], ['u2', 'u3']]);
    expect(batcher.parked).toBe(0);
  });

  it('holds a busy group until it is quiet or its oldest change has waited maxWaitMs', async () => {
    const calls: Array<{ at: number; ids: string[] }> = [];
    const t = target((_g, ids) => {
      calls.push({ at: Date.now(), ids });
      return Promise.resolve();
    }, 100);
    const batcher = new MembershipBatcher({ quietMs: 50, maxWaitMs: 150, backlogMaxWaitMs: 150 });
    const started = Date.now();
    const changes: Array<Promise<void>> = [];
    // A change every 20 ms never leaves the group quiet for 50 ms.
    for (let i = 0; i < 10; i += 1) {
      changes.push(batcher.change(t, 'g1', 'add', `u${i}`, 'c'));
      await new Promise((r) => setTimeout(r, 20));
    }
    await Promise.all(changes);
    expect(calls.length).toBeGreaterThanOrEqual(2);
    expect(calls[0]!.at - started).toBeGreaterThanOrEqual(145);
    expect(calls[0]!.ids.length).toBeGreaterThan(3);
    expect(calls.flatMap((c) => c.ids)).toEqual(Array.from({ length: 10 }, (_, i) => `u${i}`));
  });

  it('has one group request in flight per target, whatever the group', async () => {
    let inFlight = 0;
    let most = 0;
    const t = target(async () => {
      most = Math.max(most, ++inFlight);
      await new Promise((r) => setTimeout(r, 15));
      inFlight -= 1;
    });
    const batcher = new MembershipBatcher({ quietMs: 1, maxWaitMs: 10, backlogMaxWaitMs: 10 });
    await Promise.all(['g1', 'g2', 'g3', 'g4'].map((g) => batcher.change(t, g, 'add', 'u1', 'c')));
    expect(most).toBe(1);
  });

  it('sends everything at once when told nothing more will come', async () => {
    const calls: string[][] = [];
    const t = target((_g, ids) => {
      calls.push(ids);
      return Promise.resolve();
    });
    const batcher = new MembershipBatcher({ quietMs: 60_000, maxWaitMs: 60_000, backlogMaxWaitMs: 60_000 });
    const pending = [batcher.change(t, 'g1', 'add', 'u1', 'c'), batcher.change(t, 'g2', 'add', 'u1', 'c')];
    batcher.flushAll();
    await Promise.all(pending);
    expect(calls).toEqual([['u1'], ['u1']]);
  });
});
