import { Injectable } from '@nestjs/common';
import { BackgroundFailures } from '../../../infra/metrics/background-failures';
import { JobId, QueueName } from '../../../infra/queues/queue-catalogue';
import { QueuesService } from '../../../infra/queues/queues.service';

/** One trigger: the delivery, its attempts so far (part of the job id) and when it is due. */
export interface DeliveryTrigger {
  id: string;
  attempts: number;
  delayMs?: number;
  /** A redeliver (an operator's request): a job id of its own, see JobId.webhookRedelivery. */
  redeliver?: boolean;
}

/**
 * Enqueues webhook-delivery jobs, the triggers of delivery attempts. The job
 * id is the delivery plus its attempt count, so a trigger added twice (after
 * commit and by the reconciler) is one job, and the next attempt gets a new
 * one. Never throws: with Redis down the failure is logged and counted and
 * the reconciler re-creates the triggers from the rows.
 */
@Injectable()
export class DeliveryTriggers {
  constructor(
    private readonly queues: QueuesService,
    private readonly background: BackgroundFailures,
  ) {}

  async trigger(triggers: DeliveryTrigger[]): Promise<void> {
    try {
      await this.queues.addBulk(
        QueueName.WebhookDelivery,
        triggers.map((t) => ({
          data: { deliveryId: t.id },
          opts: { jobId: t.redeliver ? JobId.webhookRedelivery(t.id, Date.now()) : JobId.webhookDelivery(t.id, t.attempts), ...(t.delayMs ? { delay: t.delayMs } : {}) },
        })),
      );
    } catch (error) {
      this.background.record('webhook delivery trigger', error, { deliveries: triggers.length });
    }
  }
}
