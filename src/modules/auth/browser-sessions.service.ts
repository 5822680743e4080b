import { createHash, timingSafeEqual } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../../config';
import { ServiceUnavailableError, UnauthorizedError } from '../../common/errors/domain-errors';
import type { BrowserSessionCheck, BrowserSessionVerifier } from '../../common/guards/browser-session.port';
import { RedisService } from '../../infra/redis/redis.module';
import { readCookie, SESSION_COOKIE_NAME, SessionCookieCodec, sessionRecordId, type SessionToken } from './session-cookie';

/**
 * Browser sessions: a signed, expiring cookie backed by a Redis record, so
 * that signing out revokes the cookie on the server on every replica (the
 * contract wants a 401 afterwards, which a stateless cookie cannot give). The
 * record expires with the cookie; nothing is kept in process memory.
 */
@Injectable()
export class BrowserSessions implements BrowserSessionVerifier {
  private readonly codec: SessionCookieCodec;
  private readonly expectedKey: Buffer;
  readonly ttlSeconds: number;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly redis: RedisService,
  ) {
    this.codec = new SessionCookieCodec(config.API_KEY);
    this.expectedKey = digest(config.API_KEY);
    this.ttlSeconds = config.AUTH_SESSION_TTL_SECONDS;
  }

  /** Checks the API key (constant-time over digests) and opens a session: the cookie value to set. */
  async signIn(apiKey: string | undefined): Promise<string> {
    if (!apiKey || !timingSafeEqual(digest(apiKey), this.expectedKey)) throw new UnauthorizedError('Missing or invalid API key');
    const { token, value } = this.codec.issue(Date.now(), this.ttlSeconds);
    await this.store(() => this.redis.client.set(this.recordKey(token), '1', 'PX', this.ttlSeconds * 1000));
    return value;
  }

  /** Revokes the session of the request's cookie; 401 when there is none or it is no longer valid. */
  async signOut(cookieHeader: string | undefined): Promise<void> {
    const token = this.tokenOf(cookieHeader);
    if (!token) throw new UnauthorizedError('No valid session cookie to sign out');
    const removed = await this.store(() => this.redis.client.del(this.recordKey(token)));
    if (removed === 0) throw new UnauthorizedError('No valid session cookie to sign out');
  }

  async check(cookieHeader: string | undefined): Promise<BrowserSessionCheck> {
    const raw = readCookie(cookieHeader, SESSION_COOKIE_NAME);
    if (raw === undefined || raw === '') return 'absent';
    const token = this.codec.read(raw, Date.now());
    if (!token) return 'invalid';
    const exists = await this.store(() => this.redis.client.exists(this.recordKey(token)));
    return exists === 1 ? 'valid' : 'invalid';
  }

  private tokenOf(cookieHeader: string | undefined): SessionToken | null {
    const raw = readCookie(cookieHeader, SESSION_COOKIE_NAME);
    return raw ? this.codec.read(raw, Date.now()) : null;
  }

  private recordKey(token: SessionToken): string {
    return this.redis.key('browser-session', sessionRecordId(token));
  }

  /** Redis down: a 503 with Retry-After (the API key keeps working), never a 500 or a silent refusal. */
  private async store<T>(op: () => Promise<T>): Promise<T> {
    try {
      return await op();
    } catch {
      throw new ServiceUnavailableError('Session store (Redis) unavailable, retry later or use X-Api-Key');
    }
  }
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}
