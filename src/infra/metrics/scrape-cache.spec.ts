import type { Logger } from '@nestjs/common';
import { Registry } from 'prom-client';
import { ScrapeCache, type ScrapeCacheEvents } from './scrape-cache';
import { ScrapeSources } from './scrape-sources';

/** A promise settled by the test. */
function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** A source whose every read waits for the test to answer it. */
function slowSource<T>() {
  const reads: Array<ReturnType<typeof deferred<T>>> = [];
  const load = jest.fn(() => {
    const read = deferred<T>();
    reads.push(read);
    return read.promise;
  });
  return { load, reads, last: () => reads[reads.length - 1]! };
}

function events() {
  return { slow: jest.fn(), failed: jest.fn(), recovered: jest.fn() } satisfies ScrapeCacheEvents;
}

const TTL = 5000;
const WAIT = 250;

describe('ScrapeCache', () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);

  beforeAll(() => process.on('unhandledRejection', onUnhandled));
  afterAll(() => process.off('unhandledRejection', onUnhandled));
  beforeEach(() => {
    jest.useFakeTimers();
    unhandled.length = 0;
  });
  afterEach(async () => {
    // Let any rejection surface before checking none went unhandled.
    jest.useRealTimers();
    await new Promise((r) => setImmediate(r));
    expect(unhandled).toEqual([]);
  });

  function cache<T>(load: () => Promise<T>, initial: T, on = events(), abandonAfterMs?: number) {
    return new ScrapeCache('test_source', load, { ttlMs: TTL, initial, waitMs: WAIT, events: on, abandonAfterMs });
  }

  it('serves a read that answers in time, and reuses it for the TTL across concurrent and later scrapes', async () => {
    const src = slowSource<number>();
    const c = cache(src.load, 0);
    const a = c.serve();
    const b = c.serve();
    src.last().resolve(7);
    expect(await a).toEqual({ value: 7, stale: false });
    expect(await b).toEqual({ value: 7, stale: false });
    await jest.advanceTimersByTimeAsync(TTL - 1);
    expect(await c.serve()).toEqual({ value: 7, stale: false });
    expect(src.load).toHaveBeenCalledTimes(1);
    expect(c.ageSeconds()).toBeCloseTo((TTL - 1) / 1000, 3);

    await jest.advanceTimersByTimeAsync(1);
    const next = c.serve();
    expect(src.load).toHaveBeenCalledTimes(2);
    src.last().resolve(8);
    expect(await next).toEqual({ value: 8, stale: false });
  });

  it('serves the last value, marked stale, once a read outlives the wait; the read goes on and its value is used when it lands', async () => {
    const src = slowSource<number>();
    const on = events();
    const c = cache(src.load, 0, on);
    const first = c.serve();
    src.last().resolve(1);
    await first;
    await jest.advanceTimersByTimeAsync(TTL);

    let settled = false;
    const slow = c.serve().then((s) => ((settled = true), s));
    await jest.advanceTimersByTimeAsync(WAIT - 1);
    expect(settled).toBe(false);
    await jest.advanceTimersByTimeAsync(1);
    expect(await slow).toEqual({ value: 1, stale: true });
    expect(c.stale).toBe(true);
    expect(on.slow).toHaveBeenCalledTimes(1);
    expect(on.slow).toHaveBeenCalledWith('test_source', WAIT);

    src.last().resolve(2);
    await jest.advanceTimersByTimeAsync(0);
    expect(on.recovered).toHaveBeenCalledTimes(1);
    expect(await c.serve()).toEqual({ value: 2, stale: false });
    expect(src.load).toHaveBeenCalledTimes(2);
  });

  it('keeps one read in flight however many scrapes come while it hangs, each answered after the wait', async () => {
    const src = slowSource<number>();
    const on = events();
    const c = cache(src.load, 42, on);
    for (let scrape = 0; scrape < 5; scrape++) {
      const served = c.serve();
      await jest.advanceTimersByTimeAsync(WAIT);
      expect(await served).toEqual({ value: 42, stale: true });
      await jest.advanceTimersByTimeAsync(1000);
    }
    expect(src.load).toHaveBeenCalledTimes(1);
    expect(on.slow).toHaveBeenCalledTimes(1);
    src.last().resolve(43);
    await jest.advanceTimersByTimeAsync(0);
    expect(await c.serve()).toEqual({ value: 43, stale: false });
  });

  it('keeps the last value when a read fails, reports the failure, and reads again at the next scrape', async () => {
    const src = slowSource<string>();
    const on = events();
    const c = cache(src.load, 'initial', on);
    const ok = c.serve();
    src.last().resolve('good');
    await ok;
    await jest.advanceTimersByTimeAsync(TTL);

    const failing = c.serve();
    const error = new Error('connection refused');
    src.last().reject(error);
    expect(await failing).toEqual({ value: 'good', stale: true });
    expect(on.failed).toHaveBeenCalledWith('test_source', error, expect.any(Number));

    const retry = c.serve();
    expect(src.load).toHaveBeenCalledTimes(3);
    src.last().resolve('better');
    expect(await retry).toEqual({ value: 'better', stale: false });
    expect(on.recovered).toHaveBeenCalledTimes(1);
  });

  it('handles a read that fails in the background after the wait (reported, never unhandled)', async () => {
    const src = slowSource<number>();
    const on = events();
    const c = cache(src.load, 0, on);
    const served = c.serve();
    await jest.advanceTimersByTimeAsync(WAIT);
    expect(await served).toEqual({ value: 0, stale: true });
    src.last().reject(new Error('query read timeout'));
    await jest.advanceTimersByTimeAsync(0);
    expect(on.failed).toHaveBeenCalledTimes(1);
    expect(c.ageSeconds()).toBeNull();
  });

  it('treats a load that throws synchronously as a failed read', async () => {
    const on = events();
    const c = cache<number>(() => {
      throw new Error('boom');
    }, 5, on);
    expect(await c.serve()).toEqual({ value: 5, stale: true });
    expect(on.failed).toHaveBeenCalledTimes(1);
  });

  it('abandons a read that never settles, so the next scrape can read again; its late answer is ignored', async () => {
    const src = slowSource<number>();
    const on = events();
    const c = cache(src.load, 0, on, 10_000);
    const served = c.serve();
    await jest.advanceTimersByTimeAsync(WAIT);
    await served;
    await jest.advanceTimersByTimeAsync(10_000 - WAIT);
    expect(on.failed).toHaveBeenCalledWith('test_source', expect.objectContaining({ message: expect.stringMatching(/abandoned after 10000 ms/) }), 10_000);

    const again = c.serve();
    expect(src.load).toHaveBeenCalledTimes(2);
    src.reads[1]!.resolve(2);
    expect(await again).toEqual({ value: 2, stale: false });
    src.reads[0]!.resolve(1);
    await jest.advanceTimersByTimeAsync(0);
    expect(await c.get()).toBe(2);
    expect(on.failed).toHaveBeenCalledTimes(1);
  });

  it('reads again after invalidate(), even when a read started before the change is still running', async () => {
    const src = slowSource<number>();
    const c = cache(src.load, 0);
    const first = c.serve();
    src.last().resolve(1);
    await first;

    c.invalidate();
    const second = c.serve();
    expect(src.load).toHaveBeenCalledTimes(2);
    // A change while the read runs: the scrape waiting for it gets a read made after the change.
    c.invalidate();
    src.reads[1]!.resolve(2);
    await jest.advanceTimersByTimeAsync(0);
    expect(src.load).toHaveBeenCalledTimes(3);
    src.reads[2]!.resolve(3);
    expect(await second).toEqual({ value: 3, stale: false });
    expect(await c.serve()).toEqual({ value: 3, stale: false });
    expect(src.load).toHaveBeenCalledTimes(3);
  });
});

describe('ScrapeSources', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  function setup() {
    const registry = new Registry();
    const logger = { warn: jest.fn(), log: jest.fn() };
    const sources = new ScrapeSources(registry, WAIT, logger as unknown as Logger);
    return { registry, logger, sources };
  }

  const sample = (text: string, name: string, source: string) =>
    new RegExp(`^${name}\\{source="${source}"\\} (\\S+)$`, 'm').exec(text)?.[1];

  it('answers a scrape within the wait while one source hangs: zaphub_metrics_stale=1 for it only, counted and logged; 0 once it answers', async () => {
    const { registry, logger, sources } = setup();
    const hung = slowSource<number>();
    const fast = sources.create('fast', async () => 1, { ttlMs: 0, initial: 0 });
    const slow = sources.create('slow', hung.load, { ttlMs: TTL, initial: 0 });
    const { Gauge } = await import('prom-client');
    new Gauge({
      name: 'test_value',
      help: 'x',
      labelNames: ['source'],
      registers: [registry],
      async collect() {
        this.set({ source: 'fast' }, await fast.get());
        this.set({ source: 'slow' }, await slow.get());
      },
    });

    let text: string | undefined;
    const scrape = registry.metrics().then((t) => (text = t));
    await jest.advanceTimersByTimeAsync(WAIT - 1);
    expect(text).toBeUndefined();
    await jest.advanceTimersByTimeAsync(1);
    await scrape;
    expect(sample(text!, 'zaphub_metrics_stale', 'slow')).toBe('1');
    expect(sample(text!, 'zaphub_metrics_stale', 'fast')).toBe('0');
    expect(sample(text!, 'test_value', 'fast')).toBe('1');
    expect(sample(text!, 'test_value', 'slow')).toBe('0');
    // Counters are collected alongside the gauges that wait, so the slow read shows in the next scrape.
    expect(sample(text!, 'zaphub_metrics_source_slow_reads_total', 'fast')).toBe('0');
    expect(sample(text!, 'zaphub_metrics_source_age_seconds', 'fast')).toBe(String(WAIT / 1000)); // read at once, reported after the scrape's wait
    expect(sample(text!, 'zaphub_metrics_source_age_seconds', 'slow')).toBeUndefined();
    expect(logger.warn).toHaveBeenCalledWith({ source: 'slow', waitedMs: WAIT }, expect.stringContaining('slow'));

    hung.last().resolve(9);
    await jest.advanceTimersByTimeAsync(1000);
    const after = await registry.metrics();
    expect(sample(after, 'zaphub_metrics_stale', 'slow')).toBe('0');
    expect(sample(after, 'zaphub_metrics_source_slow_reads_total', 'slow')).toBe('1');
    expect(sample(after, 'test_value', 'slow')).toBe('9');
    expect(sample(after, 'zaphub_metrics_source_age_seconds', 'slow')).toBe('1');
    expect(hung.load).toHaveBeenCalledTimes(1);
  });

  it('counts and logs a failed read', async () => {
    const { registry, logger, sources } = setup();
    const error = new Error('ECONNREFUSED');
    const failing = sources.create('failing', () => Promise.reject(error), { ttlMs: TTL, initial: 0 });
    expect(await failing.get()).toBe(0);
    const text = await registry.metrics();
    expect(sample(text, 'zaphub_metrics_source_read_failures_total', 'failing')).toMatch(/^[12]$/); // the get() above, maybe the scrape's
    expect(sample(text, 'zaphub_metrics_stale', 'failing')).toBe('1');
    expect(sample(await registry.metrics(), 'zaphub_metrics_source_read_failures_total', 'failing')).toMatch(/^[23]$/);
    expect(logger.warn).toHaveBeenCalledWith(expect.objectContaining({ err: error, source: 'failing' }), expect.any(String));
  });

  it('refuses a source name twice, or one that is not a fixed snake_case name', () => {
    const { sources } = setup();
    sources.create('outbox', async () => 0, { ttlMs: TTL, initial: 0 });
    expect(() => sources.create('outbox', async () => 0, { ttlMs: TTL, initial: 0 })).toThrow(/already registered/);
    expect(() => sources.create('Session 5511999998888', async () => 0, { ttlMs: TTL, initial: 0 })).toThrow(/must match/);
  });
});
