import { Injectable, type OnModuleInit } from '@nestjs/common';
import { EventLog } from '../../../infra/events/event-log';
import { afterCommit, TransactionRunner } from '../../../infra/prisma/transaction';
import type { InboundMessage } from '../../sessions/engine/whatsapp-engine.port';
import type { InboundReceipt, InboundSink, SessionRef } from '../../sessions/ports/inbound-sink.port';
import { SessionHooks } from '../../sessions/session-hooks';
import { SessionsService } from '../../sessions/sessions.service';
import { InboundMediaRepository } from '../media/inbound-media.repository';
import { announcedMedia, receivedMediaView } from '../media/inbound-media-rules';
import { MediaDownloads } from '../media/media-downloads';
import { isMediaType } from '../message-types';
import { toMessageView } from '../message.view';
import { MessagingMetrics } from '../messaging-metrics';
import type { MessageRecord } from '../message.repository';
import { GroupCommit } from './group-commit';
import { InboundRepository, type NewRecordedMessage } from './inbound.repository';

/**
 * Messaging's InboundSink: what a session's owner receives from WhatsApp
 * becomes Message rows and events, each in the transaction of its event,
 * and resolves only after the commit (the session counts a WhatsApp id as
 * seen only then, so a crash before it loses nothing: WhatsApp delivers
 * again). A message is recorded once per session and WhatsApp id (a
 * re-delivery appends nothing). Messages that arrive while others are being
 * committed (a burst over many sessions) share the next transaction
 * (GroupCommit: one multi-row insert and their events).
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
  private readonly batches = new GroupCommit<PendingMessage, void>((items) => this.record(items), { maxBatch: MAX_BATCH, maxInFlight: BATCHES_IN_FLIGHT });

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
   * Records a batch of messages (several sessions' at once under load) in ONE transaction: one
   * multi-row insert, then, for what was new, the stats, media rows and events. Sessions are
   * visited in id order (stable: a session's messages keep their arrival order), so two batches
   * lock Session and EventCounter rows in the same order and cannot deadlock each other.
   */
  private async record(items: PendingMessage[]): Promise<void[]> {
    await this.transactions.run(async (tx) => {
      const recorded = await this.repository.insertMany(tx, items.map((i) => ({ ...toRow(i.session, i.message, i.direction), sessionName: i.session.name })));
      const fresh = items
        .map((item, i) => ({ ...item, record: recorded[i] ?? null }))
        .filter((x): x is PendingMessage & { record: MessageRecord } => x.record !== null)
        .sort((a, b) => (a.session.id < b.session.id ? -1 : a.session.id > b.session.id ? 1 : 0));
      const downloads: Array<{ sessionId: string; messageId: string }> = [];
      let received = 0;
      for (const { session, message, direction, record } of fresh) {
        if (direction === 'OUTBOUND') {
          await this.append(tx, session, 'message.sent', { ...toMessageView(record), fromPhone: true });
          continue;
        }
        received++;
        await this.sessions.countReceived(tx, session.id);
        const media = isMediaType(message.type) ? announcedMedia(message.type, message.media) : null;
        if (media) {
          await this.media.createPending(tx, record.id, media);
          downloads.push({ sessionId: session.id, messageId: record.id });
        }
        await this.append(tx, session, 'message.received', {
          ...toMessageView(record),
          from: message.senderPhone,
          pushName: message.pushName,
          ...(message.quotedWaMessageId ? { quotedWaMessageId: message.quotedWaMessageId } : {}),
          ...(media ? { media: receivedMediaView(record.id, media) } : {}),
        });
      }
      if (downloads.length) afterCommit(tx, () => this.downloads.enqueue(downloads));
      if (received) afterCommit(tx, () => {
        for (let i = 0; i < received; i++) this.metrics.inbound();
      });
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
    const status = receipt.status;
    await this.transactions.run(async (tx) => {
      if (receipt.participant) {
        // A group member's receipt: kept per member; the message itself moves with the first one.
        const counted = await this.repository.applyParticipantReceipt(tx, { sessionId: session.id, waMessageId: receipt.waMessageId, participant: receipt.participant, status, at: new Date() });
        if (!counted) return;
      }
      const moved = await this.repository.applyReceipt(tx, session.id, receipt.waMessageId, status, new Date());
      if (!moved) return;
      await this.log.append(tx, { sessionId: session.id, sessionName: session.name, type: status === 'READ' ? 'message.read' : 'message.delivered', data: { ...toMessageView(moved) } });
      afterCommit(tx, () => this.metrics.outbound(status));
    });
  }
}

/** Messages per transaction, and transactions at once (the pool has 10 connections, shared). */
const MAX_BATCH = 200;
const BATCHES_IN_FLIGHT = 2;

interface PendingMessage {
  session: SessionRef;
  message: InboundMessage;
  direction: 'INBOUND' | 'OUTBOUND';
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
