import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../../../config';
import { RedisService } from '../../../infra/redis/redis.module';

/**
 * A sliding-window log in one sorted set per session: drop the sends older
 * than the window, then take a permit if fewer than `limit` remain, else
 * answer how long until the oldest leaves the window. Redis' clock, so every
 * replica counts against the same window; atomic, so two replicas never both
 * take the last permit.
 */
const TAKE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], window)
  return 0
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return math.max(1, tonumber(oldest[2]) + window - now)
`;

/**
 * The per-session send rate limit (`rateLimitPerMinute`), across replicas: in
 * any window of RATE_LIMIT_WINDOW_MS (60 s) at most that many sends leave. A
 * true sliding window, not a refilling bucket (which lets 2N through in a
 * minute that straddles a refill).
 */
@Injectable()
export class SendRateLimiter {
  private readonly windowMs: number;

  constructor(
    private readonly redis: RedisService,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.windowMs = config.RATE_LIMIT_WINDOW_MS;
  }

  /** Takes a permit for one send: 0 when taken, else the milliseconds to wait before asking again. */
  async take(sessionId: string, limit: number): Promise<number> {
    const wait = await this.redis.client.eval(TAKE, 1, this.redis.key('send-rate', sessionId), String(this.windowMs), String(limit), randomUUID());
    return Number(wait);
  }
}
