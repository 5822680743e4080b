import { Injectable, type OnModuleInit } from '@nestjs/common';
import { EventLog, type NewEvent } from '../../../infra/events/event-log';
import { afterCommit, TransactionRunner, type DbTransaction } from '../../../infra/prisma/transaction';
import type { InboundMessage } from '../../sessions/engine/whatsapp-engine.port';
import type { InboundReceipt, InboundSink, SessionRef } from '../../sessions/ports/inbound-sink.port';
import { SessionHooks } from '../../sessions/session-hooks';
import { SessionsService } from '../../sessions/sessions.service';
import { InboundMediaRepository, type AnnouncedMedia } from '../media/inbound-media.repository';
import { announcedMedia, receivedMediaView } from '../media/inbound-media-rules';
import { MediaDownloads } from '../media/media-downloads';
import { isMediaType } from '../message-types';
import { toMessageView } from '../message.view';
import { MessagingMetrics } from '../messaging-metrics';
import type { MessageRecord } from '../message.repository';
import { GroupCommit } from './group-commit';
import { InboundRepository, type MovedMessage, type NewRecordedMessage } from './inbound.repository';

/**
 * Messaging's InboundSink: what a session's owner receives from WhatsApp
 * becomes Message rows and events, each in the transaction of its event,
 * and resolves only after the commit (the session counts a WhatsApp id as
 * seen only then, so a crash before it loses nothing: WhatsApp delivers
 * again). A message is recorded once per session and WhatsApp id (a
 * re-delivery appends nothing). Messages that arrive while others are being
 * committed (a burst over many sessions) share the next transaction
 * (GroupCommit: one multi-row insert, one stats update, one media insert and
 * one event append for the whole batch); receipts likewise share theirs (one
 * statement for the members' receipts, one for the messages' moves, one
 * append). A session's items commit in the order they were handed over.
 *
 * - a contact's message → inbound RECEIVED, `message.received` with
 *   `{from, pushName}`, the session's `received` stat; a media message also
 *   gets its Media row (DOWNLOADING) and `media: {mimetype, filename, size,
 *   url}` in the event, and after the commit a media-download job on this
 *   worker (the owner): the file is fetched in the background, never on this
 *   path (MediaDownloadService);
 * - a message the account's phone sent → outbound SENT with
 *   `fromPhone: true`, `message.sent` (ZapHub's own sends are already
 *   recorded under that id and are not recorded twice);
 * - a receipt → the outbound message DELIVERED then READ, never backwards,
 *   `message.delivered` / `message.read`; receipts of unknown ids are ignored;
 *   a group member's receipt is also kept per member (MessageReceipt);
 * - a reaction, an edit or a delete for everyone → applied to the message it
 *   names (`reactions`, `text` + `editedAt`, `revokedAt`), with
 *   `message.reaction`, `message.edited`, `message.revoked`.
 */
@Injectable()
export class InboundRecorder implements InboundSink, OnModuleInit {
  constructor(
    private readonly hooks: SessionHooks,
    private readonly sessions: SessionsService,
    private readonly repository: InboundRepository,
    private readonly transactions: TransactionRunner,
    private readonly log: EventLog,
    private readonly metrics: MessagingMetrics,
    private readonly media: InboundMediaRepository,
    private readonly downloads: MediaDownloads,
  ) {}

  /** Messages waiting for their transaction: what arrives while one commits goes in the next. */
  private readonly batches = new GroupCommit<PendingMessage, void>((items) => this.record(items), {
    maxBatch: MAX_BATCH,
    maxInFlight: BATCHES_IN_FLIGHT,
    keyOf: (item) => item.session.id,
  });

  /** Receipts waiting for their transaction, the same way. */
  private readonly receiptBatches = new GroupCommit<PendingReceipt, void>((items) => this.recordReceipts(items), {
    maxBatch: MAX_BATCH,
    maxInFlight: BATCHES_IN_FLIGHT,
    keyOf: (item) => item.session.id,
  });

  onModuleInit(): void {
    this.hooks.setInboundSink(this);
  }

  async received(session: SessionRef, message: InboundMessage): Promise<void> {
    if (isChange(message)) return this.change(session, message);
    await this.batches.submit({ session, message, direction: 'INBOUND' });
  }

  async ownMessage(session: SessionRef, message: InboundMessage): Promise<void> {
    if (isChange(message)) return this.change(session, message);
    await this.batches.submit({ session, message, direction: 'OUTBOUND' });
  }

  /**
   * Records a batch of messages (several sessions' at once under load) in ONE transaction of a
   * few statements whatever its size: one multi-row insert, then, for what was new, one stats
   * update (each session's `received` count), one insert of media rows and one append of all
   * events (a session's events in arrival order). The statements lock Session rows and event
   * counters in id order, so two batches cannot deadlock each other.
   */
  private async record(items: PendingMessage[]): Promise<void[]> {
    await this.transactions.run(async (tx) => {
      const recorded = await this.repository.insertMany(tx, items.map((i) => ({ ...toRow(i.session, i.message, i.direction), sessionName: i.session.name })));
      const fresh = items
        .map((item, i) => ({ ...item, record: recorded[i] ?? null }))
        .filter((x): x is PendingMessage & { record: MessageRecord } => x.record !== null);
      if (!fresh.length) return;
      const received = receivedPerSession(fresh);
      if (received.size) await this.sessions.countReceivedMany(tx, received);
      const media = fresh.map((x) => (x.direction === 'INBOUND' ? announcedOf(x.message) : null));
      const pending = fresh.flatMap((x, i) => (media[i] ? [{ messageId: x.record.id, media: media[i] }] : []));
      if (pending.length) await this.media.createPendingMany(tx, pending);
      await this.log.appendMany(tx, fresh.map((x, i) => recordedEvent(x, media[i] ?? null)));
      const downloads = fresh.filter((_, i) => media[i]).map((x) => ({ sessionId: x.session.id, messageId: x.record.id }));
      if (downloads.length) afterCommit(tx, () => this.downloads.enqueue(downloads));
      const total = [...received.values()].reduce((a, b) => a + b, 0);
      if (total) afterCommit(tx, () => this.metrics.inbound(total));
    });
    return items.map(() => undefined);
  }

  /**
   * A reaction, an edit or a delete for everyone (by a contact, a group member, or the account's
   * phone) applied to the message it names, with its event (`message.reaction`, `message.edited`,
   * `message.revoked`: the changed Message). Nothing is recorded for an unknown target (a message
   * from before the session, or of another chat) or a change already applied (a re-delivery).
   */
  private async change(session: SessionRef, message: InboundMessage): Promise<void> {
    const chatId = message.chatIdAlt ?? message.chatId;
    await this.transactions.run(async (tx) => {
      const base = { sessionId: session.id, chatId, at: message.timestamp };
      const change = message.change;
      if (change?.kind === 'edit') {
        const direction = message.fromMe ? 'OUTBOUND' : 'INBOUND';
        const edited = await this.repository.applyEdit(tx, { ...base, targetWaMessageId: change.targetWaMessageId, direction, senderJid: message.senderJid ?? null, text: change.text });
        if (edited) await this.append(tx, session, 'message.edited', { ...toMessageView(edited), ...fromFields(message) });
      } else if (change?.kind === 'revoke') {
        const revoked = await this.repository.applyRevoke(tx, { ...base, targetWaMessageId: change.targetWaMessageId });
        if (revoked) await this.append(tx, session, 'message.revoked', { ...toMessageView(revoked), ...fromFields(message) });
      } else if (message.reactionTo) {
        const reaction = { from: message.fromMe ? null : reactorOf(message), emoji: message.text ?? '', at: message.timestamp.toISOString() };
        const target = await this.repository.applyReaction(tx, { ...base, targetWaMessageId: message.reactionTo, from: reaction.from, emoji: reaction.emoji });
        if (target) await this.append(tx, session, 'message.reaction', { ...toMessageView(target), reaction });
      }
    });
  }

  private append(tx: Parameters<EventLog['append']>[0], session: SessionRef, type: string, data: Record<string, unknown>) {
    return this.log.append(tx, { sessionId: session.id, sessionName: session.name, type, data });
  }

  async receipt(session: SessionRef, receipt: InboundReceipt): Promise<void> {
    if (receipt.status === 'SENT') return; // the server's ack: the send itself recorded SENT
    await this.receiptBatches.submit({ session, waMessageId: receipt.waMessageId, status: receipt.status, participant: receipt.participant ?? null, at: new Date() });
  }

  /**
   * Applies a batch of receipts (any sessions) in ONE transaction: the group members' receipts in
   * one statement (a member's receipt that changed nothing moves nothing), the messages' moves in
   * one (never back; unknown ids ignored), then one append of their events in arrival order: a
   * message that a batch's receipts took from SENT through DELIVERED to READ gets
   * `message.delivered` then `message.read`, as one receipt per transaction would give.
   */
  private async recordReceipts(items: PendingReceipt[]): Promise<void[]> {
    await this.transactions.run(async (tx) => {
      const counted = await this.countedReceipts(tx, items);
      const moved = await this.repository.applyReceipts(tx, counted.map((r) => ({ sessionId: r.session.id, waMessageId: r.waMessageId, status: r.status, at: r.at })));
      const events = receiptEvents(counted, moved);
      if (!events.length) return;
      await this.log.appendMany(tx, events.map((e) => ({ sessionId: e.session.id, sessionName: e.session.name, type: e.type, data: { ...toMessageView(e.view) } })));
      const delivered = events.filter((e) => e.type === 'message.delivered').length;
      afterCommit(tx, () => {
        this.metrics.outbound('DELIVERED', delivered);
        this.metrics.outbound('READ', events.length - delivered);
      });
    });
    return items.map(() => undefined);
  }

  /** The receipts that go on to the message: all one-to-one ones, and the group members' that changed their member's row. */
  private async countedReceipts(tx: DbTransaction, items: PendingReceipt[]): Promise<PendingReceipt[]> {
    const members = items.filter((r) => r.participant);
    if (!members.length) return items;
    const changed = await this.repository.applyParticipantReceipts(
      tx,
      members.map((r) => ({ sessionId: r.session.id, waMessageId: r.waMessageId, participant: r.participant!, status: r.status, at: r.at })),
    );
    const dropped = new Set(members.filter((_, i) => !changed[i]));
    return items.filter((r) => !dropped.has(r));
  }
}

/**
 * Items per transaction, and transactions at once per kind (messages, receipts): at most four of
 * the pool's 10 shared connections.
 */
const MAX_BATCH = 200;
const BATCHES_IN_FLIGHT = 2;

interface PendingMessage {
  session: SessionRef;
  message: InboundMessage;
  direction: 'INBOUND' | 'OUTBOUND';
}

interface PendingReceipt {
  session: SessionRef;
  waMessageId: string;
  status: 'DELIVERED' | 'READ';
  /** A group member's receipt: that member's JID; null in a one-to-one chat. */
  participant: string | null;
  at: Date;
}

/** Each session's number of new received (inbound) messages in a batch. */
function receivedPerSession(fresh: PendingMessage[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const x of fresh) if (x.direction === 'INBOUND') counts.set(x.session.id, (counts.get(x.session.id) ?? 0) + 1);
  return counts;
}

/** What a received media message announced of its file (its Media row and the event's `media`), else null. */
function announcedOf(message: InboundMessage): AnnouncedMedia | null {
  return isMediaType(message.type) ? announcedMedia(message.type, message.media) : null;
}

/**
 * The event of a newly recorded message: `message.sent` with `fromPhone` for the phone's own
 * send, `message.received` (with the sender, and the file when there is one) for a contact's.
 */
function recordedEvent(x: PendingMessage & { record: MessageRecord }, media: AnnouncedMedia | null): NewEvent {
  const base = { sessionId: x.session.id, sessionName: x.session.name };
  if (x.direction === 'OUTBOUND') return { ...base, type: 'message.sent', data: { ...toMessageView(x.record), fromPhone: true } };
  return {
    ...base,
    type: 'message.received',
    data: {
      ...toMessageView(x.record),
      from: x.message.senderPhone,
      pushName: x.message.pushName,
      ...(x.message.quotedWaMessageId ? { quotedWaMessageId: x.message.quotedWaMessageId } : {}),
      ...(media ? { media: receivedMediaView(x.record.id, media) } : {}),
    },
  };
}

/**
 * The events of a batch of receipts, in arrival order. A moved message gets one event for its
 * new status, at the first receipt giving it; and when it went from below DELIVERED to READ in
 * this batch with a DELIVERED receipt of it before the READ one, a `message.delivered` first
 * (the view as it was in between: DELIVERED, not read yet).
 */
function receiptEvents(counted: PendingReceipt[], moved: MovedMessage[]): Array<{ session: SessionRef; type: string; view: MessageRecord }> {
  const keyOf = (sessionId: string, waMessageId: string | null) => `${sessionId}/${waMessageId}`;
  // A DELIVERED receipt after the READ one (late) is not a step the message went through.
  const read = new Set<string>();
  const hadDelivered = new Set<string>();
  for (const r of counted) {
    const key = keyOf(r.session.id, r.waMessageId);
    if (r.status === 'READ') read.add(key);
    else if (!read.has(key)) hadDelivered.add(key);
  }
  const planned = new Map<string, Map<'DELIVERED' | 'READ', MessageRecord>>();
  for (const { record, previous } of moved) {
    const key = keyOf(record.sessionId, record.waMessageId);
    const views = new Map<'DELIVERED' | 'READ', MessageRecord>();
    const wasBelowDelivered = previous === 'SENDING' || previous === 'SENT';
    if (record.status === 'READ' && wasBelowDelivered && hadDelivered.has(key)) views.set('DELIVERED', { ...record, status: 'DELIVERED', readAt: null });
    views.set(record.status === 'READ' ? 'READ' : 'DELIVERED', record);
    planned.set(key, views);
  }
  const events: Array<{ session: SessionRef; type: string; view: MessageRecord }> = [];
  for (const r of counted) {
    const views = planned.get(keyOf(r.session.id, r.waMessageId));
    const view = views?.get(r.status);
    if (!views || !view) continue;
    views.delete(r.status);
    events.push({ session: r.session, type: r.status === 'READ' ? 'message.read' : 'message.delivered', view });
  }
  return events;
}

/** Reactions, edits and revokes change an earlier message instead of being one. */
function isChange(message: InboundMessage): boolean {
  return Boolean(message.change) || (message.type === 'reaction' && Boolean(message.reactionTo));
}

/** Who reacted: the phone when WhatsApp tells it, else the author's JID. */
function reactorOf(message: InboundMessage): string | null {
  return message.senderPhone ?? message.senderJid ?? null;
}

/** Who made a change: the contact (or member), or the account's phone. */
function fromFields(message: InboundMessage): Record<string, unknown> {
  return message.fromMe ? { fromPhone: true } : { from: message.senderPhone ?? message.senderJid ?? null };
}

/**
 * The row of a delivered message. A one-to-one chat is kept under the
 * phone-number JID when WhatsApp tells it (it may address the chat by @lid),
 * so a conversation reads as one chat with what ZapHub sends there. The
 * engine's payload is kept for media only (a later download needs it).
 */
function toRow(session: SessionRef, message: InboundMessage, direction: 'INBOUND' | 'OUTBOUND'): NewRecordedMessage {
  return {
    sessionId: session.id,
    chatId: message.chatIdAlt ?? message.chatId,
    direction,
    type: message.type,
    waMessageId: message.waMessageId,
    text: message.text,
    content: {
      from: message.senderPhone,
      ...(message.senderJid ? { senderJid: message.senderJid } : {}),
      pushName: message.pushName,
      chatJid: message.chatId,
      timestamp: message.timestamp.toISOString(),
      ...(message.quotedWaMessageId ? { quotedWaMessageId: message.quotedWaMessageId } : {}),
      ...(message.reactionTo ? { reactionTo: message.reactionTo } : {}),
      ...(direction === 'OUTBOUND' ? { fromPhone: true } : {}),
      ...(isMediaType(message.type) ? { raw: message.raw } : {}),
    },
    at: message.timestamp,
  };
}
