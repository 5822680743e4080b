import { Logger } from '@nestjs/common';
import { Counter, Gauge, type Registry } from 'prom-client';
import { ScrapeCache } from './scrape-cache';

/** Fixed source names (label values), never ids. */
const SOURCE_NAME = /^[a-z][a-z0-9_]{0,63}$/;

/**
 * The scrape-time sources of one registry (one `ScrapeCache` each, made with
 * `MetricsRegistry.scrapeSource`) and the metrics that tell how fresh they are:
 *
 * - `zaphub_metrics_stale{source}`: 1 when this scrape served the source's last
 *   known values because its read timed out (took longer than
 *   METRICS_SCRAPE_TIMEOUT_MS) or failed, 0 when the values are fresh;
 * - `zaphub_metrics_source_age_seconds{source}`: seconds since the values
 *   served were read (absent until a first read succeeded);
 * - `zaphub_metrics_source_slow_reads_total{source}`: reads that outlived a
 *   scrape's wait (they go on in the background);
 * - `zaphub_metrics_source_read_failures_total{source}`: reads that failed or
 *   were abandoned (each also logged).
 */
export class ScrapeSources {
  private readonly caches = new Map<string, ScrapeCache<unknown>>();
  private readonly slowReads: Counter<'source'>;
  private readonly failures: Counter<'source'>;

  constructor(
    registry: Registry,
    private readonly waitMs: number,
    private readonly logger = new Logger('Metrics'),
  ) {
    const registers = [registry];
    const caches = this.caches;
    /** Every source's outcome for this scrape (shared with the gauges that read it: same wait, same answer). */
    const serveAll = () => Promise.all([...caches.values()].map(async (cache) => ({ cache, served: await cache.serve() })));
    new Gauge({
      name: 'zaphub_metrics_stale',
      help: 'Per scrape-time source (PostgreSQL or Redis): 1 when its gauges show the last known values because the read timed out or failed, else 0',
      labelNames: ['source'],
      registers,
      async collect() {
        for (const { cache, served } of await serveAll()) this.set({ source: cache.source }, served.stale ? 1 : 0);
      },
    });
    new Gauge({
      name: 'zaphub_metrics_source_age_seconds',
      help: 'Per scrape-time source: seconds since the values its gauges show were read (absent until a first read succeeded)',
      labelNames: ['source'],
      registers,
      async collect() {
        for (const { cache } of await serveAll()) {
          const age = cache.ageSeconds();
          if (age !== null) this.set({ source: cache.source }, age);
        }
      },
    });
    this.slowReads = new Counter({
      name: 'zaphub_metrics_source_slow_reads_total',
      help: 'Per scrape-time source: reads that took longer than the scrape waits (METRICS_SCRAPE_TIMEOUT_MS); they finish in the background',
      labelNames: ['source'],
      registers,
    });
    this.failures = new Counter({
      name: 'zaphub_metrics_source_read_failures_total',
      help: 'Per scrape-time source: reads that failed or were abandoned (the last values stay)',
      labelNames: ['source'],
      registers,
    });
  }

  /** A cached, bounded reader for gauges computed at scrape time. `source` names it in the metrics above. */
  create<T>(source: string, load: () => Promise<T>, options: { ttlMs: number; initial: T; abandonAfterMs?: number }): ScrapeCache<T> {
    if (!SOURCE_NAME.test(source)) throw new Error(`metrics source name "${source}" must match ${SOURCE_NAME}`);
    if (this.caches.has(source)) throw new Error(`metrics source "${source}" is already registered`);
    const cache = new ScrapeCache<T>(source, load, {
      ...options,
      waitMs: this.waitMs,
      events: {
        slow: (name, waitedMs) => {
          this.slowReads.inc({ source: name });
          this.logger.warn({ source: name, waitedMs }, `metrics source ${name} is slow: serving its last values while the read goes on`);
        },
        failed: (name, error, durationMs) => {
          this.failures.inc({ source: name });
          this.logger.warn({ err: error, source: name, durationMs }, `metrics source ${name} could not be read: serving its last values`);
        },
        recovered: (name, durationMs) => {
          this.logger.log({ source: name, durationMs }, `metrics source ${name} read again`);
        },
      },
    });
    this.caches.set(source, cache as ScrapeCache<unknown>);
    this.slowReads.inc({ source }, 0);
    this.failures.inc({ source }, 0);
    return cache;
  }
}
