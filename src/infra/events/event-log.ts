import { Global, Injectable, Module } from '@nestjs/common';
import type { DbTransaction } from '../prisma/transaction';
import { EventRepository, type EventEnvelope, type NewEvent } from './event.repository';

/**
 * Work that must commit with every appended event (the webhooks module's
 * delivery fan-out). Runs inside the appending transaction, once per append
 * with all the events it appended (in input order), so the work for a batch
 * can be one statement too: when it throws, the events and the change that
 * caused them roll back together.
 */
export type AppendHook = (tx: DbTransaction, events: Array<EventEnvelope & { sessionId: string }>) => Promise<void>;

/**
 * The durable event log. Producers append in the transaction of the change
 * that caused the event (`append(tx, ...)`), so an event exists exactly when
 * its change committed; consumers (webhook deliveries, the catch-up route, the
 * live stream) read it from PostgreSQL. The in-process EventBus carries only a
 * wake-up hint after the commit, never the truth.
 */
@Injectable()
export class EventLog {
  private readonly hooks: AppendHook[] = [];

  constructor(private readonly events: EventRepository) {}

  /** Registers work that runs in the transaction of every append (see AppendHook). */
  onAppend(hook: AppendHook): void {
    this.hooks.push(hook);
  }

  async append(tx: DbTransaction, event: NewEvent): Promise<EventEnvelope> {
    const [envelope] = await this.appendMany(tx, [event]);
    return envelope!;
  }

  /**
   * Appends several events (of any sessions) in one statement, then runs the
   * hooks once with all of them: the envelopes, in input order. A session's
   * events get consecutive sequences in input order.
   */
  async appendMany(tx: DbTransaction, events: NewEvent[]): Promise<EventEnvelope[]> {
    if (!events.length) return [];
    const envelopes = await this.events.appendMany(tx, events);
    const appended = envelopes.map((envelope, i) => ({ ...envelope, sessionId: events[i]!.sessionId }));
    for (const hook of this.hooks) await hook(tx, appended);
    return envelopes;
  }

  /**
   * A page of a session's history after `after` (a sequence). `nextAfter` is
   * the sequence of the last item (pass it as `after` to go on, now or later
   * when more happened), null when the page is empty: a page shorter than
   * `limit` means the client has caught up.
   */
  async page(sessionId: string, after: number, limit: number): Promise<{ items: EventEnvelope[]; nextAfter: number | null }> {
    const items = await this.events.listAfter(sessionId, after, limit);
    return { items, nextAfter: items.length ? items[items.length - 1]!.sequence : null };
  }

  /** The sequence of the session's last committed event, 0 when none: a live stream without a cursor starts after it. */
  lastSequence(sessionId: string): Promise<number> {
    return this.events.lastSequence(sessionId);
  }

  /** Stored envelopes by id, for deliveries (missing ids are left out). */
  byIds(ids: string[]): Promise<Map<string, EventEnvelope>> {
    return this.events.findByIds(ids);
  }
}

@Global()
@Module({ providers: [EventRepository, EventLog], exports: [EventLog] })
export class EventLogModule {}

export type { EventEnvelope, NewEvent } from './event.repository';
