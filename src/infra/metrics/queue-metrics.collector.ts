import { Injectable } from '@nestjs/common';
import { Gauge } from 'prom-client';
import { QueuesService, type QueueCounts } from '../queues/queues.service';
import { withTimeout } from '../redis/redis.module';
import { MetricsRegistry } from './metrics.registry';

const CACHE_MS = 5000;
/** A scrape or probe never waits longer than this on Redis (a stalled network must not hang /metrics or /health/ready). */
const READ_TIMEOUT_MS = 2000;
const STATES = ['waiting', 'active', 'delayed', 'completed', 'failed'] as const;

/**
 * `zaphub_queue_jobs{queue,state}` read from BullMQ at scrape time. Counts are
 * cached for a few seconds and concurrent scrapes share one read, so frequent
 * or parallel scrapes cannot hammer Redis. A failed or slow read (bounded by
 * READ_TIMEOUT_MS) keeps the last values.
 */
@Injectable()
export class QueueMetricsCollector {
  private cached: { at: number; counts: QueueCounts[] } | null = null;
  private inflight: Promise<QueueCounts[]> | null = null;

  constructor(metrics: MetricsRegistry, private readonly queues: QueuesService) {
    const self = this;
    new Gauge({
      name: 'zaphub_queue_jobs',
      help: 'BullMQ jobs per queue and state (sampled at most every 5 s)',
      labelNames: ['queue', 'state'],
      registers: [metrics.registry],
      async collect() {
        const counts = await self.read();
        this.reset();
        for (const q of counts) for (const state of STATES) this.set({ queue: q.name, state }, q[state]);
      },
    });
  }

  /** Counts at most CACHE_MS old; shared with /health/ready. */
  async read(): Promise<QueueCounts[]> {
    if (this.cached && Date.now() - this.cached.at < CACHE_MS) return this.cached.counts;
    this.inflight ??= withTimeout(this.queues.counts(), READ_TIMEOUT_MS, 'queue counts timed out')
      .then((counts) => {
        this.cached = { at: Date.now(), counts };
        return counts;
      })
      .catch(() => this.cached?.counts ?? [])
      .finally(() => {
        this.inflight = null;
      });
    return this.inflight;
  }
}
