import { WorkerHost } from '@nestjs/bullmq';
import { Inject, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import type { Job } from 'bullmq';
import { APP_CONFIG, type AppConfig } from '../../config';
import { logConnectionErrors } from './connection-errors';
import { queuePolicies, type JobPayloads, type QueueName } from './queue-catalogue';
import { WorkerRegistry } from './worker-registry';

/**
 * Base of every `@Processor`: applies the catalogue's concurrency and
 * registers the worker for bounded shutdown. Subclasses stay thin: validate
 * `job.data`, call a service, let errors propagate so BullMQ retries.
 */
export abstract class BaseProcessor<Q extends QueueName> extends WorkerHost implements OnApplicationBootstrap {
  protected readonly logger = new Logger(this.constructor.name);
  @Inject(APP_CONFIG) protected readonly config: AppConfig;
  @Inject(WorkerRegistry) private readonly registry: WorkerRegistry;

  protected abstract readonly queue: Q;

  // At bootstrap rather than module init: @nestjs/bullmq creates the worker in its own
  // onModuleInit, which runs after ours for modules closer to the root (global ones).
  onApplicationBootstrap(): void {
    // Queues outside the catalogue (test fixtures) keep BullMQ's concurrency.
    const policy = queuePolicies(this.config)[this.queue] as { concurrency: number } | undefined;
    if (policy) this.worker.concurrency = policy.concurrency;
    logConnectionErrors(this.worker, `worker ${this.queue}`, this.logger);
    this.registry.add(this.worker);
  }

  abstract override process(job: Job<JobPayloads[Q]>): Promise<unknown>;
}
