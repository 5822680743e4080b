import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { NotFoundError, ValidationError } from '../../../common/errors/domain-errors';
import { SessionsService } from '../../sessions/sessions.service';
import type { WebhookRecord } from '../webhook.repository';
import { DeliveryTriggers } from './delivery-triggers';
import { DeliveryRepository, type DeliveryRecord } from './delivery.repository';
import type { DeliveriesQueryDto, DeliveryPageView, DeliveryView } from './deliveries.dto';

/** Cursors are delivery sequence numbers (PostgreSQL bigint). */
const MAX_CURSOR = 9_223_372_036_854_775_807n;

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
    const before = query.cursor ? BigInt(query.cursor) : null;
    if (before !== null && before > MAX_CURSOR) {
      throw new ValidationError('cursor must be the nextCursor of a previous page', [{ field: 'cursor', message: 'cursor must be the nextCursor of a previous page' }]);
    }
    const sessionId = query.session ? await this.sessions.idOf(query.session) : undefined;
    const items = await this.deliveries.list({ status: query.status, sessionId, webhookId: query.webhookId }, before, limit);
    return { items: items.map(toDeliveryView), nextCursor: items.length === limit ? String(items[items.length - 1]!.seq) : null };
  }

  /** Back on the schedule from its start, due now (whatever its status: a DELIVERED one is sent again). */
  async redeliver(id: string): Promise<DeliveryView> {
    const record = await this.deliveries.requeue(id, new Date());
    if (!record) throw new NotFoundError(`Delivery ${id} not found`);
    await this.triggers.trigger([{ id: record.id, attempts: record.attempts, redeliver: true }]);
    return toDeliveryView(record);
  }

  /** A disabled endpoint's pending deliveries end FAILED at once (listed, redelivered once it is enabled again). */
  async failPending(webhookId: string): Promise<void> {
    await this.deliveries.failPendingOf(webhookId, 'webhook disabled: enable it, then redeliver');
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
