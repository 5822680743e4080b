import { createHash, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { UnauthorizedError } from '../../common/errors/domain-errors';

export type AdminAuthMiddleware = (req: Request, res: Response, next: NextFunction) => void;

/**
 * Guards routes that Nest's guards never see: bull-board is an Express router
 * mounted as middleware, so the global ApiKeyGuard (which runs for controller
 * routes only) cannot protect it. Same rule as the guard: the `X-Api-Key`
 * header, compared in constant time over SHA-256 digests so the length of the
 * presented key leaks nothing. A refusal goes to `next(error)`, where Nest's
 * exception filter writes the usual JSON 401 with a request id.
 */
export function adminAuthMiddleware(apiKey: string): AdminAuthMiddleware {
  const expected = digest(apiKey);
  return (req, _res, next) => {
    const presented = req.headers['x-api-key'];
    const value = Array.isArray(presented) ? presented[0] : presented;
    if (!value || !timingSafeEqual(digest(value), expected)) {
      next(new UnauthorizedError('Missing or invalid X-Api-Key header'));
      return;
    }
    next();
  };
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}
