import { Injectable, type OnModuleInit } from '@nestjs/common';
import { EventLog } from '../../../infra/events/event-log';
import { afterCommit } from '../../../infra/prisma/transaction';
import { DeliveryWakeups } from './delivery-wakeups';
import { DeliveryRepository } from './delivery.repository';

/**
 * Every appended event gets its deliveries in its own transaction: one row
 * per subscribed ACTIVE endpoint (all events of one append in one statement), so an event that committed can never miss
 * an endpoint, whatever crashes next. Once the transaction committed, the
 * dispatchers are woken to claim them (DeliveryWakeups); if the hint is lost
 * (Redis down), their timers and the reconciler find the rows.
 */
@Injectable()
export class DeliveryFanout implements OnModuleInit {
  constructor(
    private readonly log: EventLog,
    private readonly deliveries: DeliveryRepository,
    private readonly wakeups: DeliveryWakeups,
  ) {}

  onModuleInit(): void {
    this.log.onAppend(async (tx, events) => {
      const ids = await this.deliveries.fanOut(
        tx,
        events.map((event) => ({ id: event.id, sessionId: event.sessionId, type: event.event, createdAt: new Date(event.timestamp) })),
      );
      if (ids.length) afterCommit(tx, () => this.wakeups.notify());
    });
  }
}
