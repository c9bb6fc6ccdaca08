import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_DELAY_MS, retryDelayMs } from './retry-policy.js';

describe('retry policy', () => {
  it('grows with the attempt, stays within bounds and never undercuts Retry-After', () => {
    fc.assert(
      fc.property(fc.nat(50), fc.option(fc.nat(600), { nil: undefined }), fc.double({ min: 0, max: 1, noNaN: true }), (attempt, retryAfter, r) => {
        const d = retryDelayMs(attempt, retryAfter, () => r);
        expect(d).toBeGreaterThanOrEqual(500);
        expect(d).toBeLessThanOrEqual(Math.max(MAX_DELAY_MS, (retryAfter ?? 0) * 1000));
        if (retryAfter !== undefined) expect(d).toBeGreaterThanOrEqual(retryAfter * 1000);
      }),
    );
    expect(retryDelayMs(1, undefined, () => 1)).toBe(2_000);
    expect(retryDelayMs(4, undefined, () => 1)).toBe(16_000);
  });
});
