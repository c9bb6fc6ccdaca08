/**
 * Seconds to wait from a Retry-After header (delta-seconds or HTTP-date, RFC 9110 §10.2.3); undefined
 * when the header is absent or unreadable. Callers clamp it to what they are prepared to honour.
 */
export function parseRetryAfter(value: string | string[] | undefined, now: number): number | undefined {
  const raw = (Array.isArray(value) ? value[0] : value)?.trim();
  if (!raw) return undefined;
  if (/^\d+$/.test(raw)) return Number(raw);
  // An HTTP-date names its weekday and month; Date.parse would also accept bare numbers like "-5".
  if (!/[a-z]{3}/i.test(raw)) return undefined;
  const at = Date.parse(raw);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, Math.ceil((at - now) / 1000));
}
