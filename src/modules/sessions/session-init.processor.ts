import { Processor } from '@nestjs/bullmq';
import type { Job } from 'bullmq';
import { BaseProcessor } from '../../infra/queues/base.processor';
import { QueueName, type JobPayloads } from '../../infra/queues/queue-catalogue';
import { SessionRuntime } from './runtime/session-runtime.service';

const REASONS = ['start', 'restart', 'restore', 'reconnect', 'adopt'];

/**
 * session-init: a trigger to look at a session that should run. The row says
 * what to do (the reason is only for logs): this worker takes it if nobody
 * holds it and a slot is free, tells its owner otherwise.
 */
@Processor(QueueName.SessionInit)
export class SessionInitProcessor extends BaseProcessor<typeof QueueName.SessionInit> {
  protected readonly queue = QueueName.SessionInit;

  constructor(private readonly runtime: SessionRuntime) {
    super();
  }

  async process(job: Job<JobPayloads[typeof QueueName.SessionInit]>): Promise<void> {
    const { sessionId, reason } = job.data ?? {};
    if (typeof sessionId !== 'string' || !REASONS.includes(reason)) throw new Error('invalid session-init payload');
    await this.runtime.kick(sessionId);
  }
}
