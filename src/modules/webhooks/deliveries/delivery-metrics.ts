import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram } from 'prom-client';
import { MetricsRegistry } from '../../../infra/metrics/metrics.registry';
import { DeliveryRepository } from './delivery.repository';

/** How long the backlog read from PostgreSQL is reused by later scrapes. */
const DB_CACHE_MS = 5000;

/** How an attempt ended, as counted in `zaphub_webhook_deliveries_total{result}`. */
export type AttemptResult = 'delivered' | 'retry' | 'failed' | 'disabled';

/**
 * Webhook delivery metrics. Attempts and their durations are counted by the
 * process that made them (sum over replicas); the backlog gauges
 * (`zaphub_webhook_deliveries_pending`, `zaphub_webhook_oldest_pending_age_seconds`)
 * are cluster-wide from PostgreSQL, read at most every 5 s (aggregate with
 * max()); when the read is slow or fails the last values are kept
 * (`zaphub_metrics_stale{source="webhook_deliveries"}`).
 */
@Injectable()
export class DeliveryMetrics {
  private readonly attempts: Counter<'result'>;
  private readonly duration: Histogram;

  constructor(metrics: MetricsRegistry, deliveries: DeliveryRepository) {
    const registers = [metrics.registry];
    this.attempts = new Counter({
      name: 'zaphub_webhook_deliveries_total',
      help: 'Webhook delivery attempts by result: delivered (2xx), retry (will be retried), failed (schedule exhausted or endpoint disabled), disabled (410 answer)',
      labelNames: ['result'],
      registers,
    });
    for (const result of ['delivered', 'retry', 'failed', 'disabled'] as const) this.attempts.inc({ result }, 0);
    this.duration = new Histogram({
      name: 'zaphub_webhook_delivery_duration_seconds',
      help: 'Duration of one webhook delivery attempt (connect to the end of the answer)',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    const backlog = metrics.scrapeSource('webhook_deliveries', () => deliveries.pendingSummary(), {
      ttlMs: DB_CACHE_MS,
      initial: { pending: 0, oldestCreatedAt: null as Date | null },
    });
    new Gauge({
      name: 'zaphub_webhook_deliveries_pending',
      help: 'Webhook deliveries waiting for a (next) attempt, cluster-wide',
      registers,
      async collect() {
        this.set((await backlog.get()).pending);
      },
    });
    new Gauge({
      name: 'zaphub_webhook_oldest_pending_age_seconds',
      help: 'Age of the oldest webhook delivery still PENDING (0 when none), cluster-wide',
      registers,
      async collect() {
        const { oldestCreatedAt } = await backlog.get();
        this.set(oldestCreatedAt ? Math.max(0, (Date.now() - oldestCreatedAt.getTime()) / 1000) : 0);
      },
    });
  }

  attempted(result: AttemptResult, durationMs: number | null): void {
    this.attempts.inc({ result });
    if (durationMs !== null) this.duration.observe(durationMs / 1000);
  }

  /** A delivery ended without an attempt (disabled endpoint, pruned event). */
  ended(result: AttemptResult): void {
    this.attempts.inc({ result });
  }
}
