import { writeFileSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { tempDirs } from '../../test/helpers/temp-dirs.js';
import { resolveSecret } from './secret-ref.js';

const tempDir = tempDirs();

describe('secret references', () => {
  it('reads env: at call time and names the variable when it is missing', () => {
    process.env.SECRET_REF_TEST = 'abc';
    const s = resolveSecret('env:SECRET_REF_TEST');
    expect(s.value()).toBe('abc');
    process.env.SECRET_REF_TEST = 'def';
    expect(s.value()).toBe('def');
    expect(() => resolveSecret('env:SECRET_REF_MISSING')).toThrow(/SECRET_REF_MISSING is not set/);
  });

  it('re-reads a file: secret after it changes, without a restart', async () => {
    const dir = await tempDir('secret-');
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      const path = join(dir, 'token');
      writeFileSync(path, 'first\n');
      const s = resolveSecret(`file:${path}`);
      expect(s.value()).toBe('first');
      writeFileSync(path, 'second\n');
      utimesSync(path, new Date(), new Date(Date.now() + 5_000));
      vi.setSystemTime(Date.now() + 2_000);
      expect(s.value()).toBe('second');
      expect(s.ref).toBe(`file:${path}`);
    } finally {
      vi.useRealTimers();
    }
  });

  it('never puts the value in its ref', () => {
    expect(resolveSecret('plain-value').ref).toBe('literal');
  });
});
