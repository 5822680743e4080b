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
    const result = await this.transactions.run(async (tx) => {
      const written = await this.sessions.writeFenced(session, { ...update.patch, status: update.status }, update.stats, tx);
      if (!written) return null;
      if (update.clearActionSeq !== undefined) await this.sessions.clearAction(session, update.clearActionSeq, tx);
      return { written, events: await this.record(tx, session, previous, written, update.patch) };
    });
    if (!result) return null;
    this.announce(session.id, session.name, result.events);
    return result.written;
  }

  /**
   * A write by a worker that does not own the session (QUEUED, settling a
   * stop nobody carried out), only while nobody took ownership since the row
   * was read and its status is still `current.status`.
   */
  async writeUnowned(current: SessionRecord, patch: SessionPatch & { status: SessionStatus }): Promise<SessionRecord | null> {
    const result = await this.transactions.run(async (tx) => {
      const written = await this.sessions.writeUnowned({ id: current.id, epoch: current.leaseEpoch }, [current.status], patch, tx);
      return written ? { written, events: await this.record(tx, current, current.status, written, patch) } : null;
    });
    if (!result) return null;
    this.announce(current.id, current.name, result.events);
    return result.written;
  }

  /** Appends the events of one status write in its transaction; returns them for the hints after commit. */
  private async record(tx: DbTransaction, session: { id: string; name: string }, previous: SessionStatus, record: SessionRecord, patch: SessionPatch | undefined): Promise<StatusEvent[]> {
    const events: StatusEvent[] = [];
    if (previous !== record.status) events.push({ type: 'session.status', data: { status: record.status, previous, lastError: record.lastError } });
    if (record.status === 'SCAN_QR' && patch?.qr && record.qrExpiresAt) events.push({ type: 'session.qr', data: { value: patch.qr, expiresAt: record.qrExpiresAt.toISOString() } });
    for (const event of events) await this.log.append(tx, { sessionId: session.id, sessionName: session.name, type: event.type, data: event.data });
    return events;
  }

  /** After commit: the same events as hints on the in-process bus. */
  private announce(sessionId: string, session: string, events: StatusEvent[]): void {
    for (const event of events) {
      if (event.type === 'session.status') this.events.emit('session.status', { sessionId, session, ...event.data });
      else this.events.emit('session.qr', { sessionId, session, ...event.data });
    }
  }
}

type StatusEvent =
  | { type: 'session.status'; data: { status: SessionStatus; previous: SessionStatus; lastError: string | null } }
  | { type: 'session.qr'; data: { value: string; expiresAt: string } };
