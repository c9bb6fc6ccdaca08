/** `RELIABILITY=long` selects the long form; anything else runs the bounded form that `npm test` can afford. */
export const LONG = process.env.RELIABILITY === 'long';

/** A bounded or a long figure, chosen once per suite. */
export function pick<T>(bounded: T, long: T): T {
  return LONG ? long : bounded;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A seeded generator, so a failing run can be replayed: the seed is printed by each suite and taken
 * from RELIABILITY_SEED when set.
 */
export function seededRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function suiteSeed(): number {
  const fromEnv = Number(process.env.RELIABILITY_SEED);
  return Number.isInteger(fromEnv) && fromEnv > 0 ? fromEnv : Math.floor(Math.random() * 2 ** 31) + 1;
}
