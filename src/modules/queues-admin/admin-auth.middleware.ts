import { createHash, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { UnauthorizedError } from '../../common/errors/domain-errors';
import { CsrfHeaderMissingError, passesCsrfCheck, type BrowserSessionVerifier } from '../../common/guards/browser-session.port';

export type AdminAuthMiddleware = (req: Request, res: Response, next: NextFunction) => void;

/**
 * Guards routes that Nest's guards never see: bull-board is an Express router
 * mounted as middleware, so the global ApiKeyGuard (which runs for controller
 * routes only) cannot protect it. Same rule as the guard: the `X-Api-Key`
 * header, compared in constant time over SHA-256 digests so the length of the
 * presented key leaks nothing. A refusal goes to `next(error)`, where Nest's
 * exception filter writes the usual JSON 401 with a request id.
 *
 * Without the header, the browser session cookie is accepted too (when
 * `browserSessions` is given). A state change made with the cookie needs
 * `X-Requested-With`, as on /api, or an `Origin` equal to the request's own:
 * bull-board's own page sends no X-Requested-With with its retry and clean
 * calls, while browsers send `Origin` on every non-GET request, and a page of
 * another origin cannot forge it.
 */
export function adminAuthMiddleware(apiKey: string, browserSessions?: BrowserSessionVerifier): AdminAuthMiddleware {
  const expected = digest(apiKey);
  return (req, _res, next) => {
    const presented = req.headers['x-api-key'];
    const value = Array.isArray(presented) ? presented[0] : presented;
    if (value === undefined && browserSessions) {
      browserSessions.check(req.headers.cookie).then(
        (check) => {
          if (check === 'valid') {
            next(passesCsrfCheck(req.method, req.headers) || isSameOrigin(req) ? undefined : new CsrfHeaderMissingError());
          } else {
            next(new UnauthorizedError(check === 'invalid' ? 'Invalid or expired session cookie: sign in again' : 'Missing or invalid X-Api-Key header'));
          }
        },
        // A Redis outage: the ServiceUnavailableError becomes a 503 in the filter.
        (error: unknown) => next(error),
      );
      return;
    }
    if (!value || !timingSafeEqual(digest(value), expected)) {
      next(new UnauthorizedError('Missing or invalid X-Api-Key header'));
      return;
    }
    next();
  };
}

/** `Origin` names this very host and scheme (what the browser sends for bull-board's own same-origin calls). */
function isSameOrigin(req: Request): boolean {
  const origin = req.headers.origin;
  return typeof origin === 'string' && origin === `${req.protocol}://${req.get('host') ?? ''}`;
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}
