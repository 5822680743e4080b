import { Injectable } from '@nestjs/common';
import { Gauge } from 'prom-client';
import { MetricsRegistry } from '../../infra/metrics/metrics.registry';
import { WEBHOOK_STATUSES, WebhookRepository, type WebhookStatus } from './webhook.repository';

/** How long a count read from PostgreSQL is reused by later scrapes. */
const DB_CACHE_MS = 5000;

/**
 * `zaphub_webhook_endpoints{state}`: endpoints by status (ACTIVE, DISABLED),
 * cluster-wide from PostgreSQL (the same on every replica: aggregate with
 * max(), not sum()). Counted at most every 5 s, and again at once after this
 * process changed an endpoint; concurrent scrapes share one query. When the
 * query fails the last counts are kept.
 */
@Injectable()
export class WebhookMetrics {
  private cache: { at: number; counts: Record<WebhookStatus, number> } | null = null;
  private inFlight: Promise<Record<WebhookStatus, number>> | null = null;
  private generation = 0;

  constructor(
    metrics: MetricsRegistry,
    private readonly webhooks: WebhookRepository,
  ) {
    const self = this;
    new Gauge({
      name: 'zaphub_webhook_endpoints',
      help: 'Webhook endpoints by state, ACTIVE or DISABLED (cluster-wide)',
      labelNames: ['state'],
      registers: [metrics.registry],
      async collect() {
        const counts = await self.counts();
        for (const state of WEBHOOK_STATUSES) this.set({ state }, counts[state]);
      },
    });
  }

  /** An endpoint was created, deleted or changed here: the next scrape counts again. */
  changed(): void {
    this.generation++;
    this.cache = null;
    this.inFlight = null;
  }

  private counts(): Promise<Record<WebhookStatus, number>> {
    if (this.cache && Date.now() - this.cache.at < DB_CACHE_MS) return Promise.resolve(this.cache.counts);
    if (!this.inFlight) {
      const read: Promise<Record<WebhookStatus, number>> = this.read().finally(() => {
        if (this.inFlight === read) this.inFlight = null;
      });
      this.inFlight = read;
    }
    return this.inFlight;
  }

  private async read(): Promise<Record<WebhookStatus, number>> {
    const generation = this.generation;
    try {
      const counts = await this.webhooks.countByStatus();
      // A change made while counting invalidates this answer for the next scrape.
      if (generation === this.generation) this.cache = { at: Date.now(), counts };
      return counts;
    } catch {
      return this.cache?.counts ?? { ACTIVE: 0, DISABLED: 0 };
    }
  }
}
