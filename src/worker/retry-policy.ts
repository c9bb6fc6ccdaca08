/** Backoff for transient failures: exponential with full jitter, never sooner than Retry-After. */
export const BASE_DELAY_MS = 1_000;
export const MAX_DELAY_MS = 5 * 60_000;

export function retryDelayMs(attempt: number, retryAfterSeconds?: number, random: () => number = Math.random): number {
  const ceiling = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** Math.min(attempt, 20));
  const jittered = Math.max(BASE_DELAY_MS / 2, Math.round(ceiling * random()));
  const floor = retryAfterSeconds !== undefined ? Math.min(retryAfterSeconds, 3600) * 1000 : 0;
  return Math.max(jittered, floor);
}
