import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Queue } from 'bullmq';
import { APP_CONFIG, type AppConfig } from '../../config';
import { HealthInfoRegistry } from '../../infra/health-info/health-info.registry';
import { MetricsRegistry } from '../../infra/metrics/metrics.registry';
import { QueueMetricsCollector } from '../../infra/metrics/queue-metrics.collector';
import { ALL_QUEUES, defaultJobOptions } from '../../infra/queues/queue-catalogue';
import { QueuesService } from '../../infra/queues/queues.service';
import { inBatches } from './batching';
import { retentionPlan, type RetentionPlan } from './bull-retention';
import type { CleanupJob } from './cleanup-jobs';
import { CleanupRepository } from './cleanup.repository';
import { MessageExpiry } from '../messaging/outbox/message-expiry.service';

/** Messages expired per transaction (each with its message.expired event and deliveries). */
export const EXPIRE_BATCH = 500;
/** Media files removed per statement at most, and about this many bytes. */
const MEDIA_BATCH = 100;
const MEDIA_BYTE_BUDGET = 64 * 1024 * 1024;
/** History messages per statement at most: each cascades to its media, idempotency keys and outbox row. */
const MESSAGE_BATCH = 1000;
/** Pause between two delete statements, for the application's own queries. */
const BATCH_PAUSE_MS = 10;
/** BullMQ jobs removed per call (one Lua script each). */
const BULL_BATCH = 1000;
const MB = 1024 * 1024;

/** What a task gets from the runner: when to stop, and where to count rows as it goes. */
export interface TaskContext {
  signal: AbortSignal;
  counted(rows: number): void;
}

/**
 * The work of each cleanup job. Every task is short statements in a loop
 * (`inBatches`): each batch commits on its own, a failure keeps what the
 * batches before it did, and the next run picks up the rest. Rows are counted
 * per batch through the context.
 */
@Injectable()
export class CleanupTasks {
  private readonly logger = new Logger('Cleanup');

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly repository: CleanupRepository,
    private readonly expiry: MessageExpiry,
    private readonly queues: QueuesService,
    private readonly queueCounts: QueueMetricsCollector,
    private readonly health: HealthInfoRegistry,
    private readonly metrics: MetricsRegistry,
  ) {}

  run(job: CleanupJob, ctx: TaskContext): Promise<void> {
    switch (job) {
      case 'processed':
        return this.processed(ctx);
      case 'expire-pending':
        return this.expirePending(ctx);
      case 'history':
        return this.history(ctx);
      case 'jobs':
        return this.bullJobs(ctx);
      case 'flows':
        return this.flows();
      case 'summary':
        return this.summary();
    }
  }

  /** Done outbox rows older than PROCESSED_RETENTION_MINUTES (by their last change). */
  private async processed(ctx: TaskContext): Promise<void> {
    const before = new Date(Date.now() - this.config.PROCESSED_RETENTION_MINUTES * 60_000);
    const options = { batchSize: this.config.CLEANUP_BATCH_SIZE, signal: ctx.signal, onBatch: ctx.counted, pauseMs: BATCH_PAUSE_MS };
    const completed = await inBatches((limit) => this.repository.deleteProcessed('COMPLETED', before, limit), options);
    const failed = await inBatches((limit) => this.repository.deleteProcessed('FAILED', before, limit), options);
    if (completed + failed) this.logger.log({ job: 'processed', completed, failed }, 'done outbox rows deleted');
  }

  /**
   * Messages still waiting PENDING_TTL_HOURS after acceptance: EXPIRED, their
   * outbox row FAILED, and `message.expired` appended in the same transaction,
   * EXPIRE_BATCH messages per transaction.
   */
  private async expirePending(ctx: TaskContext): Promise<void> {
    const before = new Date(Date.now() - this.config.PENDING_TTL_HOURS * 3_600_000);
    const expired = await inBatches((limit) => this.expiry.expireBatch(before, limit), {
      batchSize: EXPIRE_BATCH,
      signal: ctx.signal,
      onBatch: ctx.counted,
      pauseMs: BATCH_PAUSE_MS,
    });
    if (expired) this.logger.log({ job: 'expire-pending', expired, pendingTtlHours: this.config.PENDING_TTL_HOURS }, 'pending messages expired');
  }

  /**
   * History older than HISTORY_RETENTION_DAYS, children first so no cascade
   * does a table's work in one statement: deliveries, events, idempotency
   * keys, media files (by a byte budget), then messages.
   */
  private async history(ctx: TaskContext): Promise<void> {
    const before = new Date(Date.now() - this.config.HISTORY_RETENTION_DAYS * 86_400_000);
    const batchSize = this.config.CLEANUP_BATCH_SIZE;
    const options = (size: number) => ({ batchSize: size, signal: ctx.signal, onBatch: ctx.counted, pauseMs: BATCH_PAUSE_MS });
    const deleted = {
      deliveries: await inBatches((limit) => this.repository.deleteDeliveries(before, limit), options(batchSize)),
      events: await inBatches((limit) => this.repository.deleteEvents(before, limit), options(batchSize)),
      idempotencyKeys: await inBatches((limit) => this.repository.deleteIdempotencyKeys(before, limit), options(batchSize)),
      media: await inBatches((limit) => this.repository.deleteMedia(before, limit, MEDIA_BYTE_BUDGET), options(Math.min(batchSize, MEDIA_BATCH))),
      messages: await inBatches((limit) => this.repository.deleteMessages(before, limit), options(Math.min(batchSize, MESSAGE_BATCH))),
    };
    if (Object.values(deleted).some((n) => n > 0)) {
      this.logger.log({ job: 'history', retentionDays: this.config.HISTORY_RETENTION_DAYS, ...deleted }, 'history pruned');
    }
  }

  /** Finished BullMQ jobs beyond their queue's removeOnComplete / removeOnFail, in every queue. */
  private async bullJobs(ctx: TaskContext): Promise<void> {
    const removed: Record<string, number> = {};
    for (const name of ALL_QUEUES) {
      const options = defaultJobOptions(this.config, name);
      const queue = this.queues.get(name) as unknown as Queue;
      const n =
        (await this.trim(queue, 'completed', retentionPlan(options.removeOnComplete), ctx)) +
        (await this.trim(queue, 'failed', retentionPlan(options.removeOnFail), ctx));
      if (n) removed[name] = n;
    }
    if (Object.keys(removed).length) this.logger.log({ job: 'jobs', removed }, 'finished BullMQ jobs removed');
  }

  private async trim(queue: Queue, state: 'completed' | 'failed', plan: RetentionPlan | null, ctx: TaskContext): Promise<number> {
    if (!plan) return 0;
    let removed = 0;
    if (plan.olderThanMs !== null) {
      const olderThanMs = plan.olderThanMs;
      removed += await inBatches(async (limit) => (await queue.clean(olderThanMs, limit, state)).length, { batchSize: BULL_BATCH, signal: ctx.signal, onBatch: ctx.counted });
    }
    if (plan.keepNewest !== null) {
      const count = state === 'completed' ? await queue.getCompletedCount() : await queue.getFailedCount();
      let excess = count - plan.keepNewest;
      // clean() takes the oldest first (the finished set is ordered by finish time).
      while (excess > 0) {
        ctx.signal.throwIfAborted();
        const ids = await queue.clean(0, Math.min(excess, BULL_BATCH), state);
        if (!ids.length) break;
        ctx.counted(ids.length);
        removed += ids.length;
        excess -= ids.length;
      }
    }
    return removed;
  }

  /**
   * The flows report of this process. FlowTracker removes (and counts and
   * logs) flows older than FLOW_TTL_MS on its own timer; this only reports
   * the picture, without session names or chat ids.
   */
  private async flows(): Promise<void> {
    const picture = (await this.health.get('flows')?.()) ?? null;
    const metric = this.metrics.registry.getSingleMetric('zaphub_flows_expired_total');
    const expiredTotal = metric ? ((await metric.get()).values[0]?.value ?? 0) : null;
    this.logger.log({ job: 'flows', flows: picture, expiredTotal, flowTtlMs: this.config.FLOW_TTL_MS }, 'flows of this process');
  }

  /** Queue, outbox and memory summary of this process (BullMQ counts and the outbox are cluster-wide). */
  private async summary(): Promise<void> {
    const [queues, outbox] = await Promise.all([this.queueCounts.read(), this.repository.outboxByStatus()]);
    const memory = process.memoryUsage();
    this.logger.log(
      {
        job: 'summary',
        queues: Object.fromEntries(queues.map((q) => [q.name, { waiting: q.waiting, active: q.active, delayed: q.delayed, failed: q.failed, paused: q.paused }])),
        outbox,
        memoryMb: {
          rss: round(memory.rss / MB),
          heapUsed: round(memory.heapUsed / MB),
          heapTotal: round(memory.heapTotal / MB),
          external: round(memory.external / MB),
          arrayBuffers: round(memory.arrayBuffers / MB),
        },
        uptimeSeconds: Math.round(process.uptime()),
      },
      'queue and memory summary',
    );
  }
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}
