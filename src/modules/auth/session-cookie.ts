import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** Name of the browser session cookie (CONTRACT.md leaves it to us). */
export const SESSION_COOKIE_NAME = 'zaphub_session';

/** Bumped if the format changes, so old cookies are refused rather than misread. */
const VERSION = 'v1';

export interface SessionToken {
  /** Random id (base64url of 32 bytes); the server-side record is keyed by its hash. */
  id: string;
  /** Unix seconds after which the cookie is refused, whatever the browser does. */
  expiresAt: number;
}

/**
 * Signs and reads the cookie value `v1.<id>.<expiresAt>.<hmac>`. The HMAC key
 * is derived from API_KEY, so rotating the key invalidates every cookie; a
 * forged or altered cookie is refused without a Redis round trip, and the
 * expiry cannot be extended by the browser.
 */
export class SessionCookieCodec {
  private readonly key: Buffer;

  constructor(apiKey: string) {
    this.key = createHmac('sha256', apiKey).update('zaphub browser session cookie v1').digest();
  }

  issue(nowMs: number, ttlSeconds: number): { token: SessionToken; value: string } {
    const token = { id: randomBytes(32).toString('base64url'), expiresAt: Math.floor(nowMs / 1000) + ttlSeconds };
    const payload = `${VERSION}.${token.id}.${token.expiresAt}`;
    return { token, value: `${payload}.${this.sign(payload)}` };
  }

  /** The token of a well-formed, correctly signed, unexpired value; null otherwise. */
  read(value: string, nowMs: number): SessionToken | null {
    const parts = value.split('.');
    if (parts.length !== 4 || parts[0] !== VERSION) return null;
    const [, id, expires, signature] = parts as [string, string, string, string];
    if (!/^[A-Za-z0-9_-]{43}$/.test(id) || !/^\d{1,12}$/.test(expires)) return null;
    const expected = Buffer.from(this.sign(`${VERSION}.${id}.${expires}`));
    const presented = Buffer.from(signature);
    if (presented.length !== expected.length || !timingSafeEqual(presented, expected)) return null;
    const expiresAt = Number(expires);
    if (expiresAt * 1000 <= nowMs) return null;
    return { id, expiresAt };
  }

  private sign(payload: string): string {
    return createHmac('sha256', this.key).update(payload).digest('base64url');
  }
}

/** The key of a session's server-side record: a hash, so Redis never holds a usable cookie. */
export function sessionRecordId(token: SessionToken): string {
  return createHash('sha256').update(token.id).digest('hex');
}

/** The value of cookie `name` in a `Cookie` header (the first one), undefined when absent. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() !== name) continue;
    let value = part.slice(eq + 1).trim();
    if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) value = value.slice(1, -1);
    return value;
  }
  return undefined;
}

export interface CookieOptions {
  maxAgeSeconds: number;
  secure: boolean;
}

/** A `Set-Cookie` value: HttpOnly, SameSite=Strict, Path=/ (the API, /dashboard and /admin/queues all take it). */
export function serializeSessionCookie(value: string, options: CookieOptions): string {
  const parts = [
    `${SESSION_COOKIE_NAME}=${value}`,
    'Path=/',
    `Max-Age=${options.maxAgeSeconds}`,
    `Expires=${new Date(Date.now() + options.maxAgeSeconds * 1000).toUTCString()}`,
    'HttpOnly',
    'SameSite=Strict',
  ];
  if (options.secure) parts.push('Secure');
  return parts.join('; ');
}

/** Clears the cookie in the browser (the server-side record is deleted separately). */
export function clearedSessionCookie(secure: boolean): string {
  return serializeSessionCookie('', { maxAgeSeconds: 0, secure }).replace(/Expires=[^;]+/, 'Expires=Thu, 01 Jan 1970 00:00:00 GMT');
}
