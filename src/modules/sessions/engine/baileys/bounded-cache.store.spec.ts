import { BoundedCacheStore, createSocketCaches } from './bounded-cache.store';

describe('BoundedCacheStore', () => {
  it('evicts the least recently used entry beyond its maximum', () => {
    const cache = new BoundedCacheStore(2, 60_000);
    cache.set('a', 1);
    cache.set('b', 2);
    cache.get('a');
    cache.set('c', 3);
    expect(cache.size).toBe(2);
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')).toBe(1);
  });

  it('expires entries after the TTL', async () => {
    const cache = new BoundedCacheStore(10, 30);
    cache.set('a', { x: 1 });
    expect(cache.get('a')).toEqual({ x: 1 });
    await new Promise((r) => setTimeout(r, 60));
    expect(cache.get('a')).toBeUndefined();
  });

  it('supports the batch operations Baileys uses for device lists', async () => {
    const cache = new BoundedCacheStore(10, 60_000);
    cache.mset([
      { key: 'a', value: ['0'] },
      { key: 'b', value: ['0', '1'] },
    ]);
    expect(await cache.mget(['a', 'b', 'c'])).toEqual({ a: ['0'], b: ['0', '1'], c: undefined });
    cache.mdel(['a']);
    cache.del('b');
    expect(cache.size).toBe(0);
  });

  it('keeps falsy values such as retry counter 0 and drops undefined', () => {
    const cache = new BoundedCacheStore(10, 60_000);
    cache.set('n', 0);
    expect(cache.get('n')).toBe(0);
    cache.set('n', undefined);
    expect(cache.size).toBe(0);
  });

  it('creates an independent set of caches per socket', () => {
    const a = createSocketCaches();
    const b = createSocketCaches();
    a.msgRetryCounter.set('m', 1);
    expect(b.msgRetryCounter.get('m')).toBeUndefined();
    a.msgRetryCounter.close();
    expect(a.msgRetryCounter.size).toBe(0);
  });
});
