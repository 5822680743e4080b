import type { IncomingHttpHeaders } from 'node:http';
import { DomainError } from '../errors/domain-errors';

/**
 * The browser sign-in, as the API-key guard and bull-board's middleware see it
 * (implemented by modules/auth). A port here so that common/ and the
 * queues-admin module depend on nothing of the auth module.
 */
export const BROWSER_SESSIONS = Symbol('BROWSER_SESSIONS');

/** `absent`: no session cookie at all; `invalid`: forged, expired, signed out or unknown. */
export type BrowserSessionCheck = 'valid' | 'absent' | 'invalid';

export interface BrowserSessionVerifier {
  /** Checks the session cookie of a request's `Cookie` header (signature, expiry, then the server-side record). */
  check(cookieHeader: string | undefined): Promise<BrowserSessionCheck>;
}

/** Methods that change nothing: a cookie is enough for them; the others need the CSRF header. */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * CSRF rule for requests authenticated by the cookie (CONTRACT.md "Dashboard
 * and live events"): a state change must carry `X-Requested-With`. A page of
 * another origin cannot add that header without a CORS preflight, which
 * ZapHub never grants, and HTML forms cannot send it at all.
 */
export function passesCsrfCheck(method: string, headers: IncomingHttpHeaders): boolean {
  if (SAFE_METHODS.has(method.toUpperCase())) return true;
  const value = headers['x-requested-with'];
  return typeof value === 'string' ? value.trim().length > 0 : Array.isArray(value) && value.some((v) => v.trim().length > 0);
}

/** A cookie-authenticated state change without `X-Requested-With`: 403 (the filter maps every DomainError by its statusCode). */
export class CsrfHeaderMissingError extends DomainError {
  readonly statusCode = 403;
  constructor() {
    super('Requests authenticated by the session cookie that change state need the X-Requested-With header');
  }
}
