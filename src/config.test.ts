import { describe, expect, it } from 'vitest';
import { parseConfig } from './config.js';
import { isBridgeError } from './domain/errors.js';

const valid = {
  server: { host: '127.0.0.1', port: 8080 },
  store: { url: 'sqlite:./data/bridge.db' },
  admin: { token: 'env:ADMIN_TOKEN' },
  sources: [{ name: 'hr', type: 'standard-webhooks', secret: 'env:HR_WEBHOOK_SECRET' }],
  targets: [
    {
      name: 'app1',
      baseUrl: 'http://127.0.0.1:9001/scim/v2/',
      auth: { type: 'bearer', token: 'env:APP1_TOKEN' },
      mapping: 'mappings/generic.yaml',
      mode: 'live',
    },
  ],
};

function problems(raw: unknown): string[] {
  try {
    parseConfig(raw);
  } catch (error) {
    if (isBridgeError(error, 'CONFIG_INVALID')) return error.details.problems as string[];
    throw error;
  }
  return [];
}

describe('config', () => {
  it('accepts the published example and fills defaults', () => {
    const c = parseConfig(valid);
    expect(c.targets[0]?.baseUrl).toBe('http://127.0.0.1:9001/scim/v2');
    expect(c.server.bodyLimitBytes).toBe(262144);
    expect(c.worker.concurrency).toBe(8);
    expect(Object.isFrozen(c.targets[0])).toBe(true);
  });

  it('names every wrong key, one line each', () => {
    const lines = problems({
      ...valid,
      server: { host: '127.0.0.1', port: 'eighty', colour: 'blue' },
      targets: [{ ...valid.targets[0], mode: 'sometimes', auth: { type: 'bearer' } }],
    });
    expect(lines).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^server: unknown key\(s\) colour$/),
        expect.stringMatching(/^server\.port: /),
        expect.stringMatching(/^targets\.0\.mode: /),
        expect.stringMatching(/^targets\.0\.auth\.token: /),
      ]),
    );
    expect(lines).toHaveLength(4);
  });

  it('refuses duplicate names', () => {
    expect(problems({ ...valid, targets: [valid.targets[0], valid.targets[0]] })).toEqual([
      'targets.1.name: duplicate name "app1"',
    ]);
  });
});
