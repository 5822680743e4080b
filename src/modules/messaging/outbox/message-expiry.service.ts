import { Injectable } from '@nestjs/common';
import { EventLog } from '../../../infra/events/event-log';
import { TransactionRunner } from '../../../infra/prisma/transaction';
import { toMessageView } from '../message.view';
import { OutboxRepository } from './outbox.repository';

/** The error an expired message and its outbox row carry (CONTRACT.md "Cleanup"). */
export const EXPIRED_ERROR = 'Message expired';

/**
 * Expires messages that waited too long to be sent. Exported for the cleanup
 * module, which decides when and in what batches; the state change and its
 * `message.expired` events stay messaging's business, in one transaction.
 */
@Injectable()
export class MessageExpiry {
  constructor(
    private readonly outbox: OutboxRepository,
    private readonly eventLog: EventLog,
    private readonly transactions: TransactionRunner,
  ) {}

  /** Expires up to `limit` messages accepted before `before`; how many it expired. */
  async expireBatch(before: Date, limit: number): Promise<number> {
    return this.transactions.run(async (tx) => {
      const expired = await this.outbox.expirePending(tx, before, limit, EXPIRED_ERROR, new Date());
      for (const m of expired) {
        await this.eventLog.append(tx, { sessionId: m.sessionId, sessionName: m.sessionName, type: 'message.expired', data: { ...toMessageView(m) } });
      }
      return expired.length;
    });
  }
}
