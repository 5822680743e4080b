import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * Whether an Authorization header is exactly `Bearer <token>`. Both sides are
 * hashed with SHA-256 first and the digests compared with timingSafeEqual (as
 * the API-key guard does): comparing the raw strings returned early on a
 * length mismatch, which tells an attacker the token's length, and the
 * digests always have the same length.
 */
export function bearerTokenMatches(authorization: string | undefined, token: string): boolean {
  if (authorization === undefined) return false;
  return timingSafeEqual(digest(authorization), digest(`Bearer ${token}`));
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}
