import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';

/** Makes temporary directories for the calling test file and removes them when its tests are done. */
export function tempDirs(): (prefix: string) => Promise<string> {
  const dirs: string[] = [];
  afterAll(() => Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true }))));
  return async (prefix) => {
    const dir = await mkdtemp(join(tmpdir(), prefix));
    dirs.push(dir);
    return dir;
  };
}
