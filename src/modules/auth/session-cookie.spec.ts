import { clearedSessionCookie, readCookie, serializeSessionCookie, SessionCookieCodec, sessionRecordId } from './session-cookie';
import { isLoopbackAddress } from './cookie-security';

describe('SessionCookieCodec', () => {
  const codec = new SessionCookieCodec('test-api-key-0123456789abcdef');
  const now = Date.UTC(2026, 11, 6, 12);

  it('reads back what it issued until it expires', () => {
    const { token, value } = codec.issue(now, 60);
    expect(codec.read(value, now)).toEqual(token);
    expect(codec.read(value, now + 59_999)).toEqual(token);
    expect(codec.read(value, now + 60_000)).toBeNull();
  });

  it('refuses altered, truncated and foreign values', () => {
    const { value } = codec.issue(now, 60);
    const [v, id, expires, sig] = value.split('.') as [string, string, string, string];
    // Another first character, never the same one (the values are random): a first base64url
    // character carries 6 significant bits, unlike the last one of a signature.
    const other = (s: string) => `${s.startsWith('B') ? 'C' : 'B'}${s.slice(1)}`;
    const variants = [
      [v, id, String(Number(expires) + 1000), sig],
      [v, other(id), expires, sig],
      ['v2', id, expires, sig],
      [v, id, expires, other(sig)],
      [v, id, expires],
    ].map((parts) => parts.join('.'));
    for (const bad of [...variants, '', 'x', `${value}.x`]) expect(codec.read(bad, now)).toBeNull();
    // Signed under another API key: a rotated key invalidates every cookie.
    expect(new SessionCookieCodec('another-api-key-0123456789abc').read(value, now)).toBeNull();
  });

  it('keys the server-side record by a hash of the id, never the id itself', () => {
    const { token } = codec.issue(now, 60);
    expect(sessionRecordId(token)).toMatch(/^[0-9a-f]{64}$/);
    expect(sessionRecordId(token)).not.toContain(token.id);
  });
});

describe('cookie helpers', () => {
  it('finds the named cookie among others', () => {
    expect(readCookie('a=1; zaphub_session=abc; b=2', 'zaphub_session')).toBe('abc');
    expect(readCookie('zaphub_session="q"', 'zaphub_session')).toBe('q');
    expect(readCookie('xzaphub_session=1', 'zaphub_session')).toBeUndefined();
    expect(readCookie(undefined, 'zaphub_session')).toBeUndefined();
  });

  it('serializes with the contract attributes, Secure when asked', () => {
    expect(serializeSessionCookie('v', { maxAgeSeconds: 10, secure: false })).toMatch(/^zaphub_session=v; Path=\/; Max-Age=10; Expires=[^;]+; HttpOnly; SameSite=Strict$/);
    expect(serializeSessionCookie('v', { maxAgeSeconds: 10, secure: true })).toMatch(/; Secure$/);
    expect(clearedSessionCookie(true)).toBe('zaphub_session=; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; SameSite=Strict; Secure');
  });

  it('tells loopback addresses apart', () => {
    for (const a of ['127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1']) expect(isLoopbackAddress(a)).toBe(true);
    for (const a of ['10.0.0.1', '::ffff:10.0.0.1', '128.0.0.1', 'localhost', '', undefined]) expect(isLoopbackAddress(a)).toBe(false);
  });
});
