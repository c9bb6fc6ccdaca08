import type { TargetProfile } from '../mapping/types.js';

/**
 * `attr eq "value"` with the value written by JSON string rules (RFC 7644 §3.4.2.2), so that an HR
 * field such as `x" or userName pr` stays one string literal instead of becoming filter syntax.
 * Always quoted: several servers reject bare values.
 */
export function eqFilter(attr: string, value: string): string {
  return `${attr} eq ${JSON.stringify(value)}`;
}

/** The `filter=` query parameter, percent-encoded as a whole (spaces as %20, quotes as %22). */
export function filterQuery(attr: string, value: string): string {
  return `filter=${encodeURIComponent(eqFilter(attr, value))}`;
}

/**
 * Whether a value may be put in a filter for this target. Many server parsers end a string at the
 * first `\"` or never unescape `\\`; on those an escaped value is at best a miss and at worst
 * matches someone else, so such values are looked up another way instead.
 */
export function canFilterOn(value: string, profile: Pick<TargetProfile, 'escapedFilterValues'>): boolean {
  return profile.escapedFilterValues || !/["\\]/.test(value);
}
