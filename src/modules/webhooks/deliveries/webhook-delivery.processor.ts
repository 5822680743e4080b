import { Processor } from '@nestjs/bullmq';
import type { Job } from 'bullmq';
import { BaseProcessor } from '../../../infra/queues/base.processor';
import { QueueName, type JobPayloads } from '../../../infra/queues/queue-catalogue';
import { DeliveryAttemptService } from './delivery-attempt.service';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * webhook-delivery: the trigger of one delivery attempt. The row holds the
 * schedule; an HTTP failure is recorded there, so only infrastructure errors
 * (PostgreSQL down) reach BullMQ, which retries them.
 */
@Processor(QueueName.WebhookDelivery)
export class WebhookDeliveryProcessor extends BaseProcessor<typeof QueueName.WebhookDelivery> {
  protected readonly queue = QueueName.WebhookDelivery;

  constructor(private readonly attempts: DeliveryAttemptService) {
    super();
  }

  async process(job: Job<JobPayloads[typeof QueueName.WebhookDelivery]>): Promise<void> {
    const { deliveryId } = job.data ?? {};
    if (typeof deliveryId !== 'string' || !UUID.test(deliveryId)) throw new Error('invalid webhook-delivery payload');
    await this.attempts.attempt(deliveryId);
  }
}
