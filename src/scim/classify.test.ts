import { describe, expect, it } from 'vitest';
import { codeForStatus, errorForResponse, parseRetryAfter, parseScimError } from './classify.js';

describe('codeForStatus', () => {
  it('never treats a status the design does not name as transient', () => {
    for (const status of [300, 301, 304, 307, 400, 405, 412, 413, 418, 422, 501, 505, 507, 599]) {
      const code = codeForStatus(status);
      expect(['SCIM_REJECTED', 'SCIM_BAD_RESPONSE']).toContain(code);
    }
  });

  it('maps the named statuses', () => {
    expect([408, 500, 502, 503, 504].map(codeForStatus)).toEqual(Array(5).fill('SCIM_SERVER_ERROR'));
    expect(codeForStatus(429)).toBe('SCIM_THROTTLED');
    expect([401, 403].map(codeForStatus)).toEqual(['SCIM_UNAUTHORIZED', 'SCIM_UNAUTHORIZED']);
    expect(codeForStatus(404)).toBe('SCIM_NOT_FOUND');
    expect(codeForStatus(409)).toBe('SCIM_CONFLICT');
  });
});

describe('parseRetryAfter', () => {
  const now = Date.parse('2026-12-04T10:00:00Z');

  it('reads delta-seconds and HTTP-dates, clamped to 1..300 s', () => {
    expect(parseRetryAfter('7', now)).toBe(7);
    expect(parseRetryAfter(['12'], now)).toBe(12);
    expect(parseRetryAfter('Fri, 04 Dec 2026 10:00:30 GMT', now)).toBe(30);
    expect(parseRetryAfter('0', now)).toBe(1);
    expect(parseRetryAfter('Fri, 04 Dec 2026 09:00:00 GMT', now)).toBe(1);
    expect(parseRetryAfter('86400', now)).toBe(300);
  });

  it('ignores what it cannot read', () => {
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
    expect(parseRetryAfter('', now)).toBeUndefined();
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter('-5', now)).toBeUndefined();
  });
});

describe('parseScimError', () => {
  it('reads RFC, AWS (`schema`), Slack (numeric status) and HTML bodies', () => {
    expect(parseScimError({ schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '400', scimType: 'invalidFilter', detail: 'bad' }))
      .toEqual({ status: '400', scimType: 'invalidFilter', detail: 'bad' });
    expect(parseScimError({ schema: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '409', detail: 'Duplicate' }))
      .toEqual({ status: '409', detail: 'Duplicate' });
    expect(parseScimError({ status: 400, detail: 'missing_schema_element' })).toEqual({ status: '400', detail: 'missing_schema_element' });
    expect(parseScimError(undefined)).toEqual({});
    expect(parseScimError('<html>oops</html>')).toEqual({});
  });

  it('truncates long details to 500 characters', () => {
    const detail = parseScimError({ detail: 'y'.repeat(5_000) }).detail ?? '';
    expect(detail.length).toBeLessThanOrEqual(501);
    expect(detail.startsWith('y'.repeat(500))).toBe(true);
  });
});

describe('errorForResponse', () => {
  it('carries status, scimType and Retry-After, without the query string', () => {
    const error = errorForResponse({
      method: 'GET',
      path: '/Users?filter=userName%20eq%20%22ada%40example.com%22',
      status: 429,
      headers: { 'retry-after': '3' },
      body: { status: '429', scimType: 'tooMany', detail: 'slow down' },
    });
    expect(error).toMatchObject({ code: 'SCIM_THROTTLED', kind: 'transient', retryAfterSeconds: 3 });
    expect(error.details).toMatchObject({ status: 429, scimType: 'tooMany', detail: 'slow down', path: '/Users' });
    expect(error.message).not.toContain('ada');
  });

  it('takes no Retry-After from statuses that do not throttle', () => {
    const error = errorForResponse({ method: 'GET', path: '/Users/u1', status: 500, headers: { 'retry-after': '3' }, body: undefined });
    expect(error.retryAfterSeconds).toBeUndefined();
  });
});
