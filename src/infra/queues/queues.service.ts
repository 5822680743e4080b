import { getQueueToken } from '@nestjs/bullmq';
import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import type { Job, JobsOptions, Queue } from 'bullmq';
import { ServiceUnavailableError } from '../../common/errors/domain-errors';
import { RedisService, withTimeout } from '../redis/redis.module';
import { logConnectionErrors } from './connection-errors';
import { ALL_QUEUES, type JobPayloads, type QueueName } from './queue-catalogue';

const ENQUEUE_TIMEOUT_MS = 5000;

export interface QueueCounts {
  name: QueueName;
  waiting: number;
  active: number;
  delayed: number;
  completed: number;
  failed: number;
  paused: boolean;
}

export interface FailedJobView {
  id: string | undefined;
  name: string;
  data: unknown;
  attemptsMade: number;
  failedReason: string | undefined;
  timestamp: string;
  finishedOn: string | null;
}

/** Typed access to the catalogue's queues: enqueue, counts and admin operations. */
@Injectable()
export class QueuesService implements OnModuleInit {
  private readonly logger = new Logger(QueuesService.name);
  private readonly queues = new Map<QueueName, Queue>();

  constructor(
    private readonly moduleRef: ModuleRef,
    private readonly redis: RedisService,
  ) {}

  onModuleInit(): void {
    for (const name of ALL_QUEUES) {
      const queue = this.moduleRef.get<Queue>(getQueueToken(name), { strict: false });
      logConnectionErrors(queue, `queue ${name}`, this.logger);
      this.queues.set(name, queue);
    }
  }

  get<Q extends QueueName>(name: Q): Queue<JobPayloads[Q]> {
    const queue = this.queues.get(name);
    if (!queue) throw new Error(`queue ${name} is not registered`);
    return queue as unknown as Queue<JobPayloads[Q]>;
  }

  async add<Q extends QueueName>(
    name: Q,
    data: JobPayloads[Q],
    opts: { jobId?: string; delay?: number; priority?: number; deduplication?: { id: string; ttl?: number } } = {},
  ): Promise<Job<JobPayloads[Q]>> {
    // Fail fast instead of letting the request hang while BullMQ buffers for a reconnect.
    if (this.redis.client.status !== 'ready') throw new ServiceUnavailableError('Redis is unavailable: try again shortly');
    // BullMQ's generic job-name typing is awkward across queues; the payload type is enforced above.
    const queue = this.get(name) as unknown as Queue;
    const job = await withTimeout(queue.add(name, data, opts), ENQUEUE_TIMEOUT_MS, 'enqueue timed out').catch((error: unknown) => {
      throw new ServiceUnavailableError(`Could not enqueue the job: ${(error as Error).message}`);
    });
    return job as Job<JobPayloads[Q]>;
  }

  /** Several jobs of one queue in one round trip (same failure rules as `add`). */
  async addBulk<Q extends QueueName>(name: Q, jobs: Array<{ data: JobPayloads[Q]; opts?: JobsOptions }>): Promise<void> {
    if (!jobs.length) return;
    if (this.redis.client.status !== 'ready') throw new ServiceUnavailableError('Redis is unavailable: try again shortly');
    const queue = this.get(name) as unknown as Queue;
    await withTimeout(queue.addBulk(jobs.map((job) => ({ name, data: job.data, opts: job.opts }))), ENQUEUE_TIMEOUT_MS, 'enqueue timed out').catch((error: unknown) => {
      throw new ServiceUnavailableError(`Could not enqueue the jobs: ${(error as Error).message}`);
    });
  }

  async counts(): Promise<QueueCounts[]> {
    return Promise.all(
      ALL_QUEUES.map(async (name) => {
        const queue = this.get(name) as unknown as Queue;
        const [c, paused] = await Promise.all([
          queue.getJobCounts('waiting', 'prioritized', 'active', 'delayed', 'completed', 'failed', 'waiting-children'),
          queue.isPaused(),
        ]);
        return {
          name,
          // Prioritized jobs are waiting jobs kept in a separate set by BullMQ.
          waiting: (c.waiting ?? 0) + (c.prioritized ?? 0) + (c['waiting-children'] ?? 0),
          active: c.active ?? 0,
          delayed: c.delayed ?? 0,
          completed: c.completed ?? 0,
          failed: c.failed ?? 0,
          paused,
        };
      }),
    );
  }

  async failed(name: QueueName, limit: number): Promise<FailedJobView[]> {
    const jobs = await (this.get(name) as unknown as Queue).getFailed(0, limit - 1);
    return jobs.map((job) => ({
      id: job.id,
      name: job.name,
      data: job.data,
      attemptsMade: job.attemptsMade,
      failedReason: job.failedReason,
      timestamp: new Date(job.timestamp).toISOString(),
      finishedOn: job.finishedOn ? new Date(job.finishedOn).toISOString() : null,
    }));
  }

  /** Pauses every queue globally (all replicas stop taking new jobs; active jobs finish). */
  async pauseAll(): Promise<void> {
    await Promise.all(ALL_QUEUES.map((n) => (this.get(n) as unknown as Queue).pause()));
  }

  async resumeAll(): Promise<void> {
    await Promise.all(ALL_QUEUES.map((n) => (this.get(n) as unknown as Queue).resume()));
  }

  /** Removes jobs in `state` older than `olderThanMs`, in batches; returns how many were removed. */
  async clean(name: QueueName, olderThanMs: number, state: 'completed' | 'failed'): Promise<number> {
    const queue = this.get(name) as unknown as Queue;
    let removed = 0;
    for (;;) {
      const ids = await queue.clean(olderThanMs, 1000, state);
      removed += ids.length;
      if (ids.length < 1000) return removed;
    }
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.close().catch(() => undefined)));
  }
}
