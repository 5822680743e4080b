import type { PossiblyExtendedCacheStore } from '@whiskeysockets/baileys';
import { LRUCache } from 'lru-cache';

/**
 * Baileys' CacheStore over a size-bounded LRU with a TTL. Expiry is checked on
 * read (no ttlAutopurge), so a cache holds no timers and a closed socket's
 * cache is freed with it. rc.x releases leaked through unbounded caches: every
 * cache a socket gets from ZapHub has a maximum size.
 */
export class BoundedCacheStore implements PossiblyExtendedCacheStore {
  private readonly lru: LRUCache<string, NonNullable<unknown>>;

  constructor(max: number, ttlMs: number) {
    this.lru = new LRUCache({ max, ttl: ttlMs, ttlAutopurge: false, updateAgeOnGet: false });
  }

  get size(): number {
    return this.lru.size;
  }

  get<T>(key: string): T | undefined {
    return this.lru.get(key) as T | undefined;
  }

  set<T>(key: string, value: T): void {
    if (value === undefined || value === null) this.lru.delete(key);
    else this.lru.set(key, value);
  }

  del(key: string): void {
    this.lru.delete(key);
  }

  flushAll(): void {
    this.lru.clear();
  }

  close(): void {
    this.lru.clear();
  }

  async mget<T>(keys: string[]): Promise<Record<string, T | undefined>> {
    const result: Record<string, T | undefined> = {};
    for (const key of keys) result[key] = this.get<T>(key);
    return result;
  }

  mset<T>(entries: { key: string; value: T }[]): void {
    for (const { key, value } of entries) this.set(key, value);
  }

  mdel(keys: string[]): void {
    for (const key of keys) this.lru.delete(key);
  }
}

/** Bounds of the caches each socket owns. Sized for one busy session. */
export const SOCKET_CACHE_LIMITS = {
  /** Retry counters of messages WhatsApp asked us to resend (keyed by message id and participant). */
  msgRetryCounter: { max: 2_000, ttlMs: 60 * 60_000 },
  /** Device lists of users we send to. */
  userDevices: { max: 5_000, ttlMs: 5 * 60_000 },
  groupMetadata: { max: 500, ttlMs: 5 * 60_000 },
  callOffer: { max: 100, ttlMs: 5 * 60_000 },
  placeholderResend: { max: 1_000, ttlMs: 60 * 60_000 },
  /** Signal keys in front of PostgreSQL (makeCacheableSignalKeyStore); a login writes ~812 pre-keys. */
  signalKeys: { max: 5_000, ttlMs: 5 * 60_000 },
} as const;

export type SocketCacheName = keyof typeof SOCKET_CACHE_LIMITS;

/** The per-socket caches, never shared: Baileys keys some of them without the session. */
export type SocketCaches = Record<SocketCacheName, BoundedCacheStore>;

export function createSocketCaches(): SocketCaches {
  const caches = {} as SocketCaches;
  for (const [name, { max, ttlMs }] of Object.entries(SOCKET_CACHE_LIMITS) as [SocketCacheName, { max: number; ttlMs: number }][]) {
    caches[name] = new BoundedCacheStore(max, ttlMs);
  }
  return caches;
}
