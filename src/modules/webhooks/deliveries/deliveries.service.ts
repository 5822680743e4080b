import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { NotFoundError } from '../../../common/errors/domain-errors';
import { SessionsService } from '../../sessions/sessions.service';
import type { WebhookRecord } from '../webhook.repository';
import { DeliveryTriggers } from './delivery-triggers';
import { DeliveryRepository, type DeliveryRecord } from './delivery.repository';
import type { DeliveriesQueryDto, DeliveryPageView, DeliveryView } from './deliveries.dto';

/** The delivery log (listing, redeliver) and test pings. */
@Injectable()
export class DeliveriesService {
  constructor(
    private readonly deliveries: DeliveryRepository,
    private readonly triggers: DeliveryTriggers,
    private readonly sessions: SessionsService,
  ) {}

  async list(query: DeliveriesQueryDto): Promise<DeliveryPageView> {
    const limit = query.limit ?? 50;
    const sessionId = query.session ? await this.sessions.idOf(query.session) : undefined;
    const items = await this.deliveries.list({ status: query.status, sessionId, webhookId: query.webhookId }, query.cursor ? BigInt(query.cursor) : null, limit);
    return { items: items.map(toDeliveryView), nextCursor: items.length === limit ? String(items[items.length - 1]!.seq) : null };
  }

  /** Back on the schedule from its start, due now (whatever its status: a DELIVERED one is sent again). */
  async redeliver(id: string): Promise<DeliveryView> {
    const record = await this.deliveries.requeue(id, new Date());
    if (!record) throw new NotFoundError(`Delivery ${id} not found`);
    await this.triggers.trigger([{ id: record.id, attempts: record.attempts }]);
    return toDeliveryView(record);
  }

  /**
   * A `webhook.test` event to this endpoint alone, delivered (signed, retried)
   * like any other. It is not part of the session's event log: its sequence is 0.
   */
  async ping(webhook: WebhookRecord): Promise<DeliveryView> {
    const envelope = {
      id: `evt_${randomUUID().replace(/-/g, '')}`,
      event: 'webhook.test',
      session: webhook.sessionName,
      sequence: 0,
      timestamp: new Date().toISOString(),
      data: { webhookId: webhook.id, url: webhook.url },
    };
    const record = await this.deliveries.createPing(webhook.id, webhook.sessionId, envelope);
    await this.triggers.trigger([{ id: record.id, attempts: 0 }]);
    return toDeliveryView(record);
  }
}

export function toDeliveryView(record: DeliveryRecord): DeliveryView {
  return {
    id: record.id,
    webhookId: record.webhookId,
    eventId: record.eventId ?? (typeof record.payload?.id === 'string' ? record.payload.id : null),
    event: record.eventType,
    status: record.status,
    attempts: record.attempts,
    lastStatusCode: record.lastStatusCode,
    lastError: record.lastError,
    nextAttemptAt: record.status === 'PENDING' ? record.nextAttemptAt.toISOString() : null,
    createdAt: record.createdAt.toISOString(),
    deliveredAt: record.deliveredAt?.toISOString() ?? null,
  };
}
