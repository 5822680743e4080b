import { Injectable } from '@nestjs/common';
import { EventBus } from '../../../infra/events/event-bus';
import { TransactionRunner } from '../../../infra/prisma/transaction';
import { SessionRepository, type Fence, type SessionPatch } from '../session.repository';
import type { SessionRecord, SessionStatus } from '../session.types';
import type { StatusUpdate } from './status-writer';

export interface PublishedSession extends Fence {
  name: string;
}

/**
 * The one place where session status is written and `session.status` /
 * `session.qr` are emitted. The write and (once the webhooks issue adds the
 * event log) its event commit in one transaction; the in-process bus only
 * carries a hint after the commit, so no event exists for a change that rolled
 * back.
 */
@Injectable()
export class SessionStatusPublisher {
  constructor(
    private readonly sessions: SessionRepository,
    private readonly transactions: TransactionRunner,
    private readonly events: EventBus,
  ) {}

  /**
   * The owner's write, fenced by its lease epoch. Returns null when the row is
   * gone or another worker owns it now (nothing was written).
   */
  async write(session: PublishedSession, previous: SessionStatus, update: StatusUpdate): Promise<SessionRecord | null> {
    const record = await this.transactions.run(async (tx) => {
      const written = await this.sessions.writeFenced(session, { ...update.patch, status: update.status }, update.stats, tx);
      if (written && update.clearActionSeq !== undefined) await this.sessions.clearAction(session, update.clearActionSeq, tx);
      return written;
    });
    if (record) this.announce(session, previous, record, update.patch);
    return record;
  }

  /**
   * A write by a worker that does not own the session (QUEUED, settling a
   * stop nobody carried out), only while nobody took ownership since the row
   * was read and its status is still `current.status`.
   */
  async writeUnowned(current: SessionRecord, patch: SessionPatch & { status: SessionStatus }): Promise<SessionRecord | null> {
    const record = await this.sessions.writeUnowned({ id: current.id, epoch: current.leaseEpoch }, [current.status], patch);
    if (record) this.announce(current, current.status, record, patch);
    return record;
  }

  private announce(session: { id: string; name: string }, previous: SessionStatus, record: SessionRecord, patch: SessionPatch | undefined): void {
    if (previous !== record.status) {
      this.events.emit('session.status', { sessionId: session.id, session: session.name, status: record.status, previous, lastError: record.lastError });
    }
    if (record.status === 'SCAN_QR' && patch?.qr && record.qrExpiresAt) {
      this.events.emit('session.qr', { sessionId: session.id, session: session.name, value: patch.qr, expiresAt: record.qrExpiresAt.toISOString() });
    }
  }
}
