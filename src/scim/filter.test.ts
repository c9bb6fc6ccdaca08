import { describe, expect, it } from 'vitest';
import { canFilterOn, eqFilter, filterQuery } from './filter.js';

describe('eqFilter', () => {
  it('writes the value as one JSON string literal', () => {
    expect(eqFilter('userName', 'ada@example.com')).toBe('userName eq "ada@example.com"');
    expect(eqFilter('externalId', 'O"Brien\\x')).toBe('externalId eq "O\\"Brien\\\\x"');
    expect(eqFilter('externalId', 'x" or userName pr or userName eq "y')).toBe(
      'externalId eq "x\\" or userName pr or userName eq \\"y"',
    );
    expect(eqFilter('externalId', 'tab\tnew\nline\u0001')).toBe('externalId eq "tab\\tnew\\nline\\u0001"');
  });

  it('percent-encodes the whole filter for the query', () => {
    expect(filterQuery('userName', 'ada lovelace@example.com')).toBe('filter=userName%20eq%20%22ada%20lovelace%40example.com%22');
    expect(filterQuery('externalId', 'a"b\\c&d=e')).toBe('filter=externalId%20eq%20%22a%5C%22b%5C%5Cc%26d%3De%22');
  });
});

describe('canFilterOn', () => {
  it('keeps quotes and backslashes away from servers that cannot parse them', () => {
    const naive = { escapedFilterValues: false };
    expect(canFilterOn('ada@example.com', naive)).toBe(true);
    expect(canFilterOn('O"Brien', naive)).toBe(false);
    expect(canFilterOn('a\\b', naive)).toBe(false);
    expect(canFilterOn('O"Brien', { escapedFilterValues: true })).toBe(true);
  });
});
