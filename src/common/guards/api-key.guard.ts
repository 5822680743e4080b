import { createHash, timingSafeEqual } from 'node:crypto';
import { Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { Request } from 'express';
import { APP_CONFIG, type AppConfig } from '../../config';
import { UnauthorizedError } from '../errors/domain-errors';

/**
 * Requires `X-Api-Key` on every `/api/**` route. Both sides are hashed first so
 * the comparison is constant-time whatever the length of the presented key.
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  private readonly expected: Buffer;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.expected = digest(config.API_KEY);
  }

  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<Request>();
    if (!req.path.startsWith('/api/') && req.path !== '/api') return true;
    const presented = req.headers['x-api-key'];
    const value = Array.isArray(presented) ? presented[0] : presented;
    if (!value || !timingSafeEqual(digest(value), this.expected)) {
      throw new UnauthorizedError('Missing or invalid X-Api-Key header');
    }
    return true;
  }
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}
