import { Processor } from '@nestjs/bullmq';
import type { Job } from 'bullmq';
import { BaseProcessor } from '../../infra/queues/base.processor';
import { QueueName, type JobPayloads } from '../../infra/queues/queue-catalogue';
import { SessionRuntime } from './runtime/session-runtime.service';

const ACTIONS = ['stop', 'logout', 'delete'];

/**
 * session-close: a trigger to look at a session that should stop, log out or
 * be deleted. The row carries the wanted state and action; the owner carries it
 * out, or this worker does when nobody owns the session.
 */
@Processor(QueueName.SessionClose)
export class SessionCloseProcessor extends BaseProcessor<typeof QueueName.SessionClose> {
  protected readonly queue = QueueName.SessionClose;

  constructor(private readonly runtime: SessionRuntime) {
    super();
  }

  async process(job: Job<JobPayloads[typeof QueueName.SessionClose]>): Promise<void> {
    const { sessionId, action } = job.data ?? {};
    if (typeof sessionId !== 'string' || !ACTIONS.includes(action)) throw new Error('invalid session-close payload');
    await this.runtime.kick(sessionId);
  }
}
