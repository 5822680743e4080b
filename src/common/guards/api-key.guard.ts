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
    // Decide on the matched route pattern, not the raw path: Express matches
    // paths case-insensitively, so "/API/queues" reaches the /api/queues handler.
    const path = (req.route as { path?: unknown } | undefined)?.path;
    const normalized = (typeof path === 'string' ? path : req.path).toLowerCase();
    if (!normalized.startsWith('/api/') && normalized !== '/api') return true;
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
