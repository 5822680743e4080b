import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { RedisLockService, type Lease } from '../../src/infra/locks/redis-lock.service';
import { RedisService } from '../../src/infra/redis/redis.module';
import { createTestEnv, type TestEnv } from '../helpers/test-env';

describe('RedisLockService (Redis)', () => {
  let env: TestEnv;
  let redis: RedisService;
  let locks: RedisLockService;

  beforeAll(async () => {
    env = await createTestEnv();
    redis = new RedisService(env.config);
    locks = new RedisLockService(redis);
    // enableOfflineQueue is off: commands sent before the connection is ready are refused.
    if (redis.client.status !== 'ready') await once(redis.client, 'ready');
    await redis.ping(5000);
  });
  afterAll(async () => {
    await redis?.close();
    await env?.cleanup();
  });

  const name = (what: string) => `${what}:${randomUUID()}`;
  const pttl = (key: string) => redis.client.pttl(key);
  const get = (key: string) => redis.client.get(key);

  it('keys live under the env prefix', async () => {
    const lockName = name('prefix');
    const lease = await locks.acquire(lockName, 10_000, 'tok');
    expect(lease!.key).toBe(`${env.redisPrefix}:lock:${lockName}`);
    expect(locks.keyFor(lockName)).toBe(lease!.key);
    expect(await get(lease!.key)).toBe('tok');
  });

  describe('acquire', () => {
    it('is exclusive: a second acquire with another token gets null and leaves the holder alone', async () => {
      const lockName = name('acquire');
      const first = await locks.acquire(lockName, 10_000, 'first');
      expect(first).toEqual({ key: locks.keyFor(lockName), token: 'first' });
      const ttlBefore = await pttl(first!.key);
      expect(ttlBefore).toBeGreaterThan(0);
      expect(ttlBefore).toBeLessThanOrEqual(10_000);

      expect(await locks.acquire(lockName, 60_000, 'second')).toBeNull();
      expect(await locks.acquire(lockName, 60_000)).toBeNull(); // random token
      expect(await get(first!.key)).toBe('first');
      expect(await pttl(first!.key)).toBeLessThanOrEqual(ttlBefore);
    });

    it('uses a random token by default, and concurrent acquires let exactly one win', async () => {
      const lockName = name('race');
      const results = await Promise.all(Array.from({ length: 10 }, () => locks.acquire(lockName, 10_000)));
      const winners = results.filter((r): r is Lease => r !== null);
      expect(winners).toHaveLength(1);
      expect(winners[0]!.token).toMatch(/^[0-9a-f-]{36}$/);
      expect(await locks.holder(lockName)).toBe(winners[0]!.token);
    });
  });

  describe('renew', () => {
    it('extends only with the right token', async () => {
      const lockName = name('renew');
      const lease = (await locks.acquire(lockName, 1000, 'mine'))!;
      expect(await pttl(lease.key)).toBeLessThanOrEqual(1000);

      expect(await locks.renew({ key: lease.key, token: 'other' }, 60_000)).toBe(false);
      expect(await pttl(lease.key)).toBeLessThanOrEqual(1000);
      expect(await get(lease.key)).toBe('mine');

      expect(await locks.renew(lease, 60_000)).toBe(true);
      expect(await pttl(lease.key)).toBeGreaterThan(50_000);
    });

    it('is false once the key is gone, and does not re-create it', async () => {
      const lease = (await locks.acquire(name('renew-gone'), 10_000, 'mine'))!;
      await redis.client.del(lease.key);
      expect(await locks.renew(lease, 10_000)).toBe(false);
      expect(await redis.client.exists(lease.key)).toBe(0);
    });
  });

  describe('renewOrReclaim', () => {
    it("'renewed' while held: the TTL is extended", async () => {
      const lease = (await locks.acquire(name('ror-renew'), 1000, 'mine'))!;
      expect(await pttl(lease.key)).toBeLessThanOrEqual(1000);
      expect(await locks.renewOrReclaim(lease, 60_000)).toBe('renewed');
      expect(await pttl(lease.key)).toBeGreaterThan(50_000);
      expect(await get(lease.key)).toBe('mine');
    });

    it("'reclaimed' after the key vanished: the key holds our token again, with the TTL", async () => {
      const lease = (await locks.acquire(name('ror-reclaim'), 10_000, 'mine'))!;
      await redis.client.del(lease.key);
      expect(await locks.renewOrReclaim(lease, 20_000)).toBe('reclaimed');
      expect(await get(lease.key)).toBe('mine');
      const ttl = await pttl(lease.key);
      expect(ttl).toBeGreaterThan(15_000);
      expect(ttl).toBeLessThanOrEqual(20_000);
      // and from then on it is a plain renewal
      expect(await locks.renewOrReclaim(lease, 20_000)).toBe('renewed');
    });

    it("'lost' when another token holds it: the key is left untouched", async () => {
      const lockName = name('ror-lost');
      const mine: Lease = { key: locks.keyFor(lockName), token: 'mine' };
      const theirs = (await locks.acquire(lockName, 5000, 'theirs'))!;
      const ttlBefore = await pttl(theirs.key);
      expect(await locks.renewOrReclaim(mine, 60_000)).toBe('lost');
      expect(await get(theirs.key)).toBe('theirs');
      const ttlAfter = await pttl(theirs.key);
      expect(ttlAfter).toBeGreaterThan(0);
      expect(ttlAfter).toBeLessThanOrEqual(ttlBefore);
    });
  });

  describe('release', () => {
    it('deletes only with the right token', async () => {
      const lockName = name('release');
      const lease = (await locks.acquire(lockName, 10_000, 'mine'))!;
      await locks.release({ key: lease.key, token: 'other' });
      expect(await get(lease.key)).toBe('mine');
      await locks.release(lease);
      expect(await redis.client.exists(lease.key)).toBe(0);
      // free again
      expect(await locks.acquire(lockName, 10_000, 'next')).not.toBeNull();
      // a stale release (our lease was taken over meanwhile) does not free the new holder
      await locks.release(lease);
      expect(await locks.holder(lockName)).toBe('next');
    });
  });

  describe('holder / holders', () => {
    it('holders returns the tokens in order, with null for free locks', async () => {
      const [a, b, c, d] = [name('h'), name('h'), name('h'), name('h')];
      await locks.acquire(a, 10_000, 'token-a');
      await locks.acquire(c, 10_000, 'token-c');
      expect(await locks.holders([a, b, c, d])).toEqual(['token-a', null, 'token-c', null]);
      expect(await locks.holders([d, c, b, a])).toEqual([null, 'token-c', null, 'token-a']);
      expect(await locks.holders([])).toEqual([]);
      expect(await locks.holder(a)).toBe('token-a');
      expect(await locks.holder(b)).toBeNull();
    });
  });
});
