import { Injectable } from '@nestjs/common';
import { EventBus } from '../../../infra/events/event-bus';
import { EventLog } from '../../../infra/events/event-log';
import type { DbTransaction } from '../../../infra/prisma/transaction';
import { TransactionRunner } from '../../../infra/prisma/transaction';
import { SessionRepository, type Fence, type SessionPatch } from '../session.repository';
import type { SessionRecord, SessionStatus } from '../session.types';
import type { StatusUpdate } from './status-writer';

export interface PublishedSession extends Fence {
  name: string;
}

/**
 * The one place where session status is written and `session.status` /
 * `session.qr` are recorded: the write and its events commit in one
 * transaction (the event log), so an event exists exactly when its change
 * committed, and none is lost if the process dies right after. The
 * in-process bus then only carries a hint.
 */
@Injectable()
export class SessionStatusPublisher {
  constructor(
    private readonly sessions: SessionRepository,
    private readonly transactions: TransactionRunner,
    private readonly events: EventBus,
    private readonly log: EventLog,
  ) {}

  /**
   * The owner's write, fenced by its lease epoch. Returns null when the row is
   * gone or another worker owns it now (nothing was written).
   */
  async write(session: PublishedSession, previous: SessionStatus, update: StatusUpdate): Promise<SessionRecord | null> {
    const record = await this.transactions.run(async (tx) => {
      const written = await this.sessions.writeFenced(session, { ...update.patch, status: update.status }, update.stats, tx);
      if (!written) return null;
      if (update.clearActionSeq !== undefined) await this.sessions.clearAction(session, update.clearActionSeq, tx);
      await this.record(tx, session, previous, written, update.patch);
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
    const record = await this.transactions.run(async (tx) => {
      const written = await this.sessions.writeUnowned({ id: current.id, epoch: current.leaseEpoch }, [current.status], patch, tx);
      if (written) await this.record(tx, current, current.status, written, patch);
      return written;
    });
    if (record) this.announce(current, current.status, record, patch);
    return record;
  }

  /** The events of one status write, appended in its transaction. */
  private async record(tx: DbTransaction, session: { id: string; name: string }, previous: SessionStatus, record: SessionRecord, patch: SessionPatch | undefined): Promise<void> {
    if (previous !== record.status) {
      await this.log.append(tx, { sessionId: session.id, sessionName: session.name, type: 'session.status', data: { status: record.status, previous, lastError: record.lastError } });
    }
    if (record.status === 'SCAN_QR' && patch?.qr && record.qrExpiresAt) {
      await this.log.append(tx, { sessionId: session.id, sessionName: session.name, type: 'session.qr', data: { value: patch.qr, expiresAt: record.qrExpiresAt.toISOString() } });
    }
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
