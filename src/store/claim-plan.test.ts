import { join } from 'node:path';
import { CompiledQuery } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDirs } from '../../test/helpers/temp-dirs.js';
import { openStore } from './index.js';
import { KyselyStore } from './kysely-store.js';
import { dueFetchesQuery } from './fetches.js';
import { dirtyByTargetQuery, oldestDirtyQuery } from './pair-gauges.js';
import { candidatesQuery, renewLeasesQuery } from './pairs.js';

const tempDir = tempDirs();

/**
 * A worker claims on every round, so a claim must read its candidates in the order it takes them and
 * stop at its limit, passing over only those leased or waiting to retry. SQLite keeps no statistics
 * here: its plan follows the indexes alone, and one that matched `dirty` without the column the claim
 * orders by sorted every dirty or every clean pair on each round. The gauges run every 5 s on the
 * event loop, and must not read a row per dirty pair; lease renewals every third of a lease, and must
 * not read every pair.
 */
describe('claim and gauge plans on SQLite', () => {
  let store: KyselyStore;

  beforeAll(async () => {
    const opened = await openStore(`sqlite:${join(await tempDir('claim-plan-'), 'bridge.db')}`);
    if (!(opened instanceof KyselyStore)) throw new Error('expected the Kysely store');
    store = opened;
  });
  afterAll(() => store.close());

  const explain = async (query: CompiledQuery) => {
    const { rows } = await store.db.executeQuery<{ detail: string }>(CompiledQuery.raw(`explain query plan ${query.sql}`, [...query.parameters]));
    return rows.map((r) => r.detail);
  };
  const plan = (which: 'dirty' | 'due', excluded: string[] = []) => explain(candidatesQuery(store.db, 'sqlite', which, 1_000, 8, excluded).compile());

  it.each([
    ['dirty', 'pairs_dirty_since'],
    ['due', 'pairs_due'],
  ] as const)('reads %s pairs through %s in order, without sorting them', async (which, index) => {
    for (const excluded of [[], ['paused-target']]) {
      const steps = await plan(which, excluded);
      expect(steps[0], steps.join(' | ')).toMatch(new RegExp(`^SEARCH pairs USING INDEX ${index} \\(dirty=\\?`));
      expect(steps.join(' | ')).not.toMatch(/TEMP B-TREE/);
    }
  });

  it('counts dirty pairs per target from pairs_dirty_by_target alone, without sorting them', async () => {
    const steps = await explain(dirtyByTargetQuery(store.db).compile());
    expect(steps[0], steps.join(' | ')).toMatch(/^SEARCH pairs USING COVERING INDEX pairs_dirty_by_target \(dirty=\?\)/);
    expect(steps.join(' | ')).not.toMatch(/TEMP B-TREE/);
  });

  it('finds the oldest dirty pair as the first entry of pairs_dirty_since', async () => {
    const steps = await explain(oldestDirtyQuery(store.db).compile());
    expect(steps[0], steps.join(' | ')).toMatch(/^SEARCH pairs USING COVERING INDEX pairs_dirty_since \(dirty=\? AND dirty_since>\?\)/);
    expect(steps.join(' | ')).not.toMatch(/TEMP B-TREE/);
  });

  it('reads due fetches through fetches_due in order, without sorting them', async () => {
    const steps = await explain(dueFetchesQuery(store.db, 1_000, 8).compile());
    expect(steps[0], steps.join(' | ')).toMatch(/^SCAN fetches USING INDEX fetches_due\b/);
    expect(steps.join(' | ')).not.toMatch(/TEMP B-TREE/);
  });

  it('renews leases through the primary key of the pairs named, without reading every pair', async () => {
    const steps = await explain(renewLeasesQuery(store.db, [{ target: 'app', employeeId: 'E-1' }, { target: 'app', employeeId: 'E-2' }], 'w1', 1_000, 60_000).compile());
    expect(steps[0], steps.join(' | ')).toMatch(/^SEARCH pairs USING INDEX \S+ \(target=\? AND employee_id=\?\)/);
    expect(steps.join(' | ')).not.toMatch(/SCAN pairs/);
  });
});
