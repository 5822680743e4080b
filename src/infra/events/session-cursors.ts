import type { EventEnvelope } from './event-log';

/** An event of an all-sessions stream: the envelope, and the session id its cursor is kept under. */
export type SessionEvent = EventEnvelope & { sessionId: string };

export interface SessionsReader {
  /** Sessions whose last committed sequence is above their cursor (missing: 0), with that sequence. */
  changed(cursors: ReadonlyMap<string, number>): Promise<Map<string, number>>;
  /** A session's events with a sequence above `after`, in order, at most `limit`. */
  after(sessionId: string, after: number, limit: number): Promise<EventEnvelope[]>;
}

/**
 * Where an all-sessions stream is: one cursor (last sequence sent) per
 * session, keyed by id (a name can be reused by a new session, whose
 * sequences start again at 1). A session's sequences commit in order (its
 * counter row is locked until the appending transaction ends), so reading
 * each session after its own cursor misses nothing; one createdAt cursor
 * across sessions could (a transaction can commit after a later-stamped one).
 *
 * Start from `positions` (every session's last sequence when the stream
 * opened: see EventStreams.allSessionsPosition); a session absent from it did
 * not exist or had no event then, so all its events are new.
 */
export class SessionCursors {
  private readonly cursors: Map<string, number>;

  constructor(
    positions: ReadonlyMap<string, number>,
    private readonly reader: SessionsReader,
  ) {
    this.cursors = new Map(positions);
  }

  /**
   * The next events, at most `limit`, each session's in sequence order. The
   * sessions with new events share the page (each up to its share, then what
   * is left goes round again), so one busy session does not hold the others
   * back; a page shorter than `limit` means every session was caught up.
   */
  async read(limit: number): Promise<SessionEvent[]> {
    const reached = new Map(this.cursors);
    const page: SessionEvent[] = [];
    let pending = [...(await this.reader.changed(this.cursors)).keys()];
    while (pending.length && page.length < limit) {
      const share = Math.ceil((limit - page.length) / pending.length);
      const more: string[] = [];
      for (const sessionId of pending) {
        const room = Math.min(share, limit - page.length);
        if (room <= 0) break;
        const events = await this.reader.after(sessionId, reached.get(sessionId) ?? 0, room);
        for (const event of events) page.push({ ...event, sessionId });
        if (events.length) reached.set(sessionId, events[events.length - 1]!.sequence);
        if (events.length === room) more.push(sessionId);
      }
      pending = more;
    }
    return page;
  }

  /** Moves the session's cursor past `event`, once it was sent. */
  advance(event: SessionEvent): void {
    this.cursors.set(event.sessionId, event.sequence);
  }
}
