import { describe, expect, it } from 'vitest';
import { rowChunks } from './row-chunks.js';

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

describe('rowChunks', () => {
  it('gives SQLite only power-of-two pieces of at most 256 rows, in order, covering every row', () => {
    const shapes = new Set<number>();
    for (let n = 0; n <= 1200; n += 1) {
      const parts = rowChunks(range(n), 'sqlite');
      expect(parts.flat()).toEqual(range(n));
      for (const p of parts) {
        expect(p.length & (p.length - 1)).toBe(0);
        shapes.add(p.length);
      }
    }
    expect([...shapes].sort((a, b) => a - b)).toEqual([1, 2, 4, 8, 16, 32, 64, 128, 256]);
  });

  it('gives PostgreSQL pieces of up to 500 rows', () => {
    expect(rowChunks(range(1201), 'postgres').map((p) => p.length)).toEqual([500, 500, 201]);
    expect(rowChunks([], 'postgres')).toEqual([]);
    expect(rowChunks(range(50), 'sqlite').map((p) => p.length)).toEqual([32, 16, 2]);
  });
});
