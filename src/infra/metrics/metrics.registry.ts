import { Inject, Injectable, Optional } from '@nestjs/common';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { APP_CONFIG, type AppConfig } from '../../config';
import type { ScrapeCache } from './scrape-cache';
import { ScrapeSources } from './scrape-sources';

/** METRICS_SCRAPE_TIMEOUT_MS when no config is given (a registry made by hand in a test). */
const DEFAULT_SCRAPE_TIMEOUT_MS = 250;

/**
 * The one Prometheus registry of the process. Each module registers the
 * metrics of the facts it owns here (labels never carry phone numbers, JIDs,
 * chat ids or message ids). A fresh registry per app instance keeps tests that
 * boot several apps in one process independent.
 */
@Injectable()
export class MetricsRegistry {
  readonly registry = new Registry();
  private readonly sources: ScrapeSources;

  constructor(@Optional() @Inject(APP_CONFIG) config?: Pick<AppConfig, 'METRICS_SCRAPE_TIMEOUT_MS'>) {
    collectDefaultMetrics({ register: this.registry });
    // prom-client's totals of active handles/requests/resources are gauges named
    // `*_total`, which `promtool check metrics` rejects (that suffix is for
    // counters). The same numbers remain as the per-type gauges
    // `nodejs_active_{handles,requests,resources}{type}`: sum them for a total.
    for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) {
      this.registry.removeSingleMetric(name);
    }
    this.sources = new ScrapeSources(this.registry, config?.METRICS_SCRAPE_TIMEOUT_MS ?? DEFAULT_SCRAPE_TIMEOUT_MS);
  }

  /**
   * The reader of a gauge computed at scrape time from PostgreSQL or Redis:
   * cached for `ttlMs`, one read in flight, a scrape waits for it at most
   * METRICS_SCRAPE_TIMEOUT_MS and then serves the last values, reported by
   * `zaphub_metrics_stale{source}` (see ScrapeCache). `source` is a fixed name.
   */
  scrapeSource<T>(source: string, load: () => Promise<T>, options: { ttlMs: number; initial: T; abandonAfterMs?: number }): ScrapeCache<T> {
    return this.sources.create(source, load, options);
  }
}
