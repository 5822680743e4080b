import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram } from 'prom-client';
import { MetricsRegistry } from '../../infra/metrics/metrics.registry';
import { OutboxRepository } from './outbox/outbox.repository';

/** How long the outbox picture read from PostgreSQL is reused by later scrapes. */
const DB_CACHE_MS = 5000;
const QUEUE_ITEM_STATUSES = ['PENDING', 'PROCESSING', 'COMPLETED', 'FAILED'] as const;

/**
 * Messaging metrics. `zaphub_messages_total{direction,status}` counts the
 * statuses messages reach in this process (sum over replicas; outbound:
 * QUEUED when accepted, SENT, DELIVERED, READ, FAILED, CANCELED; inbound:
 * RECEIVED); the send duration is from
 * acceptance to sent. The outbox gauges are cluster-wide from PostgreSQL,
 * read at most every 5 s (aggregate with max()); a slow or failed read keeps
 * the last values (`zaphub_metrics_stale{source="outbox"}`).
 */
@Injectable()
export class MessagingMetrics {
  private readonly messages: Counter<'direction' | 'status'>;
  private readonly sendDuration: Histogram;

  constructor(metrics: MetricsRegistry, repository: OutboxRepository) {
    const registers = [metrics.registry];
    this.messages = new Counter({
      name: 'zaphub_messages_total',
      help: 'Messages reaching a status in this process, by direction (outbound: QUEUED when accepted, SENT, DELIVERED, READ, FAILED, CANCELED; inbound: RECEIVED)',
      labelNames: ['direction', 'status'],
      registers,
    });
    for (const status of ['QUEUED', 'SENT', 'DELIVERED', 'READ', 'FAILED', 'CANCELED']) this.messages.inc({ direction: 'outbound', status }, 0);
    this.messages.inc({ direction: 'inbound', status: 'RECEIVED' }, 0);
    this.sendDuration = new Histogram({
      name: 'zaphub_message_send_duration_seconds',
      help: 'From a message accepted to sent (queueing, retries and the send itself)',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600],
      registers,
    });
    const outbox = metrics.scrapeSource('outbox', () => repository.summary(), {
      ttlMs: DB_CACHE_MS,
      initial: { byStatus: {} as Record<string, number>, oldestPendingAt: null as Date | null },
    });
    new Gauge({
      name: 'zaphub_message_queue_items',
      help: 'Outbox rows (MessageQueueItem) by status, cluster-wide',
      labelNames: ['status'],
      registers,
      async collect() {
        const { byStatus } = await outbox.get();
        for (const status of QUEUE_ITEM_STATUSES) this.set({ status }, byStatus[status] ?? 0);
      },
    });
    new Gauge({
      name: 'zaphub_message_queue_oldest_pending_age_seconds',
      help: 'Age of the oldest outbox row still PENDING (0 when none), cluster-wide',
      registers,
      async collect() {
        const { oldestPendingAt } = await outbox.get();
        this.set(oldestPendingAt ? Math.max(0, (Date.now() - oldestPendingAt.getTime()) / 1000) : 0);
      },
    });
  }

  outbound(status: 'QUEUED' | 'SENT' | 'DELIVERED' | 'READ' | 'FAILED' | 'CANCELED', count = 1): void {
    if (count > 0) this.messages.inc({ direction: 'outbound', status }, count);
  }

  /** `count` messages received (a recorder's batch counts once). */
  inbound(count = 1): void {
    if (count > 0) this.messages.inc({ direction: 'inbound', status: 'RECEIVED' }, count);
  }

  sent(acceptedAt: Date, sentAt: Date): void {
    this.outbound('SENT');
    this.sendDuration.observe(Math.max(0, sentAt.getTime() - acceptedAt.getTime()) / 1000);
  }
}
