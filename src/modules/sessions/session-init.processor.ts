import { Processor } from '@nestjs/bullmq';
import type { Job } from 'bullmq';
import { BaseProcessor } from '../../infra/queues/base.processor';
import { QueueName, type JobPayloads } from '../../infra/queues/queue-catalogue';
import { SessionRuntime } from './runtime/session-runtime.service';

const REASONS = ['start', 'restart', 'restore', 'reconnect', 'adopt'];

/** session-init: run (or restart) a session on this worker if a slot is free; otherwise it is QUEUED. */
@Processor(QueueName.SessionInit)
export class SessionInitProcessor extends BaseProcessor<typeof QueueName.SessionInit> {
  protected readonly queue = QueueName.SessionInit;

  constructor(private readonly runtime: SessionRuntime) {
    super();
  }

  async process(job: Job<JobPayloads[typeof QueueName.SessionInit]>): Promise<void> {
    const { sessionId, reason } = job.data ?? {};
    if (typeof sessionId !== 'string' || !REASONS.includes(reason)) throw new Error('invalid session-init payload');
    await this.runtime.start(sessionId, reason);
  }
}
