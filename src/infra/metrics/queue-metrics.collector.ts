import { Injectable } from '@nestjs/common';
import { Gauge } from 'prom-client';
import { QueuesService, type QueueCounts } from '../queues/queues.service';
import { withTimeout } from '../redis/redis.module';
import { MetricsRegistry } from './metrics.registry';
import type { ScrapeCache } from './scrape-cache';

const CACHE_MS = 5000;
/** A read still running after this long fails (and frees the source for the next scrape): ioredis may wait for a stalled Redis. */
const READ_TIMEOUT_MS = 2000;
const STATES = ['waiting', 'active', 'delayed', 'completed', 'failed'] as const;

/**
 * `zaphub_queue_jobs{queue,state}` read from BullMQ at scrape time. Counts are
 * cached for a few seconds and concurrent scrapes share one read, so frequent
 * or parallel scrapes cannot hammer Redis. A scrape (or probe) waits for a read
 * at most METRICS_SCRAPE_TIMEOUT_MS; a slow or failed read keeps the last
 * values (`zaphub_metrics_stale{source="queue_jobs"}`).
 */
@Injectable()
export class QueueMetricsCollector {
  private readonly counts: ScrapeCache<QueueCounts[]>;

  constructor(metrics: MetricsRegistry, queues: QueuesService) {
    const counts = (this.counts = metrics.scrapeSource(
      'queue_jobs',
      () => withTimeout(queues.counts(), READ_TIMEOUT_MS, 'queue counts timed out'),
      { ttlMs: CACHE_MS, initial: [] },
    ));
    new Gauge({
      name: 'zaphub_queue_jobs',
      help: 'BullMQ jobs per queue and state (sampled at most every 5 s)',
      labelNames: ['queue', 'state'],
      registers: [metrics.registry],
      async collect() {
        const read = await counts.get();
        this.reset();
        for (const q of read) for (const state of STATES) this.set({ queue: q.name, state }, q[state]);
      },
    });
  }

  /** Counts at most CACHE_MS old when Redis answers in time, else the last known; shared with /health/ready. */
  read(): Promise<QueueCounts[]> {
    return this.counts.get();
  }
}
