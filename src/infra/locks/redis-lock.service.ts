import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { RedisService } from '../redis/redis.module';

// Delete or extend only if the caller still holds the token (compare-and-act in one step).
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;
const EXTEND = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;

// Extend when still ours (1); take back a lease whose key vanished (2: expired while Redis was
// unreachable, or lost in a failover); refuse when someone else holds it (0).
const RENEW_OR_RECLAIM = `local v = redis.call('get', KEYS[1])
if v == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end
if not v then redis.call('set', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 2 end
return 0`;

export type RenewOutcome = 'renewed' | 'reclaimed' | 'lost';

export interface Lease {
  key: string;
  token: string;
}

/**
 * Distributed locks and leases on Redis (single instance, SET NX PX + token).
 * Used for crons (one replica at a time) and session ownership (renewed lease).
 */
@Injectable()
export class RedisLockService {
  constructor(private readonly redis: RedisService) {}

  /** Tries once; returns the lease or null when someone else holds it. */
  async acquire(name: string, ttlMs: number, token: string = randomUUID()): Promise<Lease | null> {
    const key = this.redis.key('lock', name);
    const ok = await this.redis.client.set(key, token, 'PX', ttlMs, 'NX');
    return ok === 'OK' ? { key, token } : null;
  }

  /** Extends a lease still held; false when it was lost (expired or taken). */
  async renew(lease: Lease, ttlMs: number): Promise<boolean> {
    return (await this.redis.client.eval(EXTEND, 1, lease.key, lease.token, String(ttlMs))) === 1;
  }

  /**
   * Renews a lease, or re-creates it when its key is gone (nobody else holds it):
   * a Redis restart or failover then costs no socket. Only a key held under
   * another token counts as lost. Rejects when Redis cannot be reached.
   */
  async renewOrReclaim(lease: Lease, ttlMs: number): Promise<RenewOutcome> {
    const result = await this.redis.client.eval(RENEW_OR_RECLAIM, 1, lease.key, lease.token, String(ttlMs));
    return result === 1 ? 'renewed' : result === 2 ? 'reclaimed' : 'lost';
  }

  async release(lease: Lease): Promise<void> {
    await this.redis.client.eval(RELEASE, 1, lease.key, lease.token);
  }

  /** Current holder token of a lock, or null. */
  async holder(name: string): Promise<string | null> {
    return this.redis.client.get(this.redis.key('lock', name));
  }

  /** Holder tokens of several locks in one round trip (MGET). */
  async holders(names: string[]): Promise<Array<string | null>> {
    if (!names.length) return [];
    return this.redis.client.mget(...names.map((n) => this.redis.key('lock', n)));
  }

  keyFor(name: string): string {
    return this.redis.key('lock', name);
  }

  /** Runs `fn` only if the lock is free; returns undefined when another replica holds it. */
  async runExclusive<T>(name: string, ttlMs: number, fn: () => Promise<T>): Promise<T | undefined> {
    const lease = await this.acquire(name, ttlMs);
    if (!lease) return undefined;
    try {
      return await fn();
    } finally {
      await this.release(lease).catch(() => undefined);
    }
  }
}
