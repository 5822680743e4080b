import { Injectable } from '@nestjs/common';
import { Gauge } from 'prom-client';
import { MetricsRegistry } from '../../infra/metrics/metrics.registry';
import type { ScrapeCache } from '../../infra/metrics/scrape-cache';
import { WEBHOOK_STATUSES, WebhookRepository, type WebhookStatus } from './webhook.repository';

/** How long a count read from PostgreSQL is reused by later scrapes. */
const DB_CACHE_MS = 5000;

/**
 * `zaphub_webhook_endpoints{state}`: endpoints by status (ACTIVE, DISABLED),
 * cluster-wide from PostgreSQL (the same on every replica: aggregate with
 * max(), not sum()). Counted at most every 5 s, and again at once after this
 * process changed an endpoint; concurrent scrapes share one query. When the
 * query is slow or fails the last counts are kept
 * (`zaphub_metrics_stale{source="webhook_endpoints"}`).
 */
@Injectable()
export class WebhookMetrics {
  private readonly endpoints: ScrapeCache<Record<WebhookStatus, number>>;

  constructor(metrics: MetricsRegistry, webhooks: WebhookRepository) {
    const endpoints = (this.endpoints = metrics.scrapeSource('webhook_endpoints', () => webhooks.countByStatus(), {
      ttlMs: DB_CACHE_MS,
      initial: { ACTIVE: 0, DISABLED: 0 },
    }));
    new Gauge({
      name: 'zaphub_webhook_endpoints',
      help: 'Webhook endpoints by state, ACTIVE or DISABLED (cluster-wide)',
      labelNames: ['state'],
      registers: [metrics.registry],
      async collect() {
        const counts = await endpoints.get();
        for (const state of WEBHOOK_STATUSES) this.set({ state }, counts[state]);
      },
    });
  }

  /** An endpoint was created, deleted or changed here: the next scrape counts again. */
  changed(): void {
    this.endpoints.invalidate();
  }
}
