import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram } from 'prom-client';
import { MetricsRegistry } from '../../infra/metrics/metrics.registry';
import { CLEANUP_JOBS, type CleanupJob } from './cleanup-jobs';
import { CleanupState, type JobState } from './cleanup-state';

/** How long the state read from Redis is reused by later scrapes. */
const STATE_CACHE_MS = 5000;

/**
 * Cleanup metrics, labelled by job name only. Rows, failures and durations
 * count the runs of this process (sum over replicas: a run happens on one);
 * the last success time is read from the shared job state in Redis, so every
 * replica exports the same value (aggregate with max()).
 */
@Injectable()
export class CleanupMetrics {
  private readonly rowsTotal: Counter<'job'>;
  private readonly failures: Counter<'job'>;
  private readonly duration: Histogram<'job'>;
  /** Successes of this process, so its own runs show at once whatever the Redis read's cache holds. */
  private readonly localSuccess = new Map<CleanupJob, number>();

  constructor(metrics: MetricsRegistry, state: CleanupState) {
    const registers = [metrics.registry];
    this.rowsTotal = new Counter({
      name: 'zaphub_cleanup_rows_total',
      help: 'Rows (and BullMQ jobs) removed or expired by cleanup runs of this process, by job',
      labelNames: ['job'],
      registers,
    });
    this.failures = new Counter({
      name: 'zaphub_cleanup_failures_total',
      help: 'Cleanup runs of this process that failed (retried at the next run), by job',
      labelNames: ['job'],
      registers,
    });
    this.duration = new Histogram({
      name: 'zaphub_cleanup_duration_seconds',
      help: 'Duration of the cleanup runs of this process, by job (failed runs included)',
      labelNames: ['job'],
      buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600],
      registers,
    });
    for (const job of CLEANUP_JOBS) {
      this.rowsTotal.inc({ job }, 0);
      this.failures.inc({ job }, 0);
    }
    const local = this.localSuccess;
    const states = metrics.scrapeSource('cleanup_state', () => state.readAll(), { ttlMs: STATE_CACHE_MS, initial: null as Record<CleanupJob, JobState> | null });
    new Gauge({
      name: 'zaphub_cleanup_last_success_timestamp_seconds',
      help: 'Unix time of the last successful run of each cleanup job on any replica (absent: never succeeded)',
      labelNames: ['job'],
      registers,
      async collect() {
        const read = await states.get();
        this.reset();
        for (const job of CLEANUP_JOBS) {
          const at = Math.max(read?.[job].lastSuccessAt?.getTime() ?? 0, local.get(job) ?? 0);
          if (at) this.set({ job }, at / 1000);
        }
      },
    });
  }

  rows(job: CleanupJob, count: number): void {
    if (count > 0) this.rowsTotal.inc({ job }, count);
  }

  succeeded(job: CleanupJob, at: Date): void {
    this.localSuccess.set(job, at.getTime());
  }

  failed(job: CleanupJob): void {
    this.failures.inc({ job });
  }

  observe(job: CleanupJob, seconds: number): void {
    this.duration.observe({ job }, seconds);
  }
}
