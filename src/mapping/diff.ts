import { isPlainObject } from './json.js';

function show(value: unknown): string {
  return value === undefined ? 'nothing' : JSON.stringify(value);
}

/**
 * Lists the differences between two JSON values, one line per differing path, so a failing golden
 * fixture reads as "user.displayName: expected ..., got ..." rather than two blobs to compare by eye.
 * Object key order is ignored; array order is not.
 */
export function jsonDiff(expected: unknown, actual: unknown, path = ''): string[] {
  if (Array.isArray(expected) && Array.isArray(actual)) {
    const lines: string[] = [];
    const length = Math.max(expected.length, actual.length);
    for (let index = 0; index < length; index += 1) {
      lines.push(...jsonDiff(expected[index], actual[index], `${path}[${index}]`));
    }
    return lines;
  }
  if (isPlainObject(expected) && isPlainObject(actual)) {
    const keys = [...new Set([...Object.keys(expected), ...Object.keys(actual)])].sort();
    return keys.flatMap((key) => jsonDiff(expected[key], actual[key], path ? `${path}.${key}` : key));
  }
  if (Object.is(expected, actual)) return [];
  return [`${path || '(root)'}: expected ${show(expected)}, got ${show(actual)}`];
}
