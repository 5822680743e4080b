import { createHash, timingSafeEqual } from 'node:crypto';
import { Inject, Injectable, Optional, SetMetadata, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { APP_CONFIG, type AppConfig } from '../../config';
import { UnauthorizedError } from '../errors/domain-errors';
import { BROWSER_SESSIONS, CsrfHeaderMissingError, passesCsrfCheck, type BrowserSessionVerifier } from './browser-session.port';

const WITHOUT_CREDENTIALS = 'zaphub:without-credentials';

/**
 * Marks an /api route the guard lets through without credentials: only the
 * browser sign-in, which checks the API key itself (it is how a cookie is got).
 */
export const WithoutCredentials = () => SetMetadata(WITHOUT_CREDENTIALS, true);

/**
 * Requires `X-Api-Key` on every `/api/**` route. Both sides are hashed first so
 * the comparison is constant-time whatever the length of the presented key.
 * Without the header, the browser session cookie (modules/auth) is accepted
 * instead; a state change made with the cookie also needs `X-Requested-With`
 * (CSRF). A header that is present decides alone: a wrong key is a 401 even
 * beside a valid cookie.
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  private readonly expected: Buffer;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly reflector: Reflector,
    // Optional: an application (or test module) without the auth module accepts the key only.
    @Optional() @Inject(BROWSER_SESSIONS) private readonly browserSessions?: BrowserSessionVerifier,
  ) {
    this.expected = digest(config.API_KEY);
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const req = context.switchToHttp().getRequest<Request>();
    // Decide on the matched route pattern, not the raw path: Express matches
    // paths case-insensitively, so "/API/queues" reaches the /api/queues handler.
    const path = (req.route as { path?: unknown } | undefined)?.path;
    const normalized = (typeof path === 'string' ? path : req.path).toLowerCase();
    if (!normalized.startsWith('/api/') && normalized !== '/api') return true;
    if (this.reflector.getAllAndOverride<boolean>(WITHOUT_CREDENTIALS, [context.getHandler(), context.getClass()])) return true;
    const presented = req.headers['x-api-key'];
    const value = Array.isArray(presented) ? presented[0] : presented;
    if (value === undefined && this.browserSessions) {
      const check = await this.browserSessions.check(req.headers.cookie);
      if (check === 'valid') {
        if (!passesCsrfCheck(req.method, req.headers)) throw new CsrfHeaderMissingError();
        return true;
      }
      if (check === 'invalid') throw new UnauthorizedError('Invalid or expired session cookie: sign in again');
    }
    if (!value || !timingSafeEqual(digest(value), this.expected)) {
      throw new UnauthorizedError('Missing or invalid X-Api-Key header');
    }
    return true;
  }
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}
