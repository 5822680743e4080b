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
import { InboundRepository, type NewRecordedMessage } from './inbound.repository';

/**
 * Messaging's InboundSink: what a session's owner receives from WhatsApp
 * becomes Message rows and events, each in one transaction with its event,
 * and resolves only after the commit (the session counts a WhatsApp id as
 * seen only then, so a crash before it loses nothing: WhatsApp delivers
 * again). A message is recorded once per session and WhatsApp id (a
 * re-delivery appends nothing).
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
 *   `message.delivered` / `message.read`; receipts of unknown ids are ignored.
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

  onModuleInit(): void {
    this.hooks.setInboundSink(this);
  }

  async received(session: SessionRef, message: InboundMessage): Promise<void> {
    await this.transactions.run(async (tx) => {
      const recorded = await this.repository.insertOnce(tx, toRow(session, message, 'INBOUND'));
      if (!recorded) return;
      await this.sessions.countReceived(tx, session.id);
      const media = isMediaType(message.type) ? announcedMedia(message.type, message.media) : null;
      if (media) {
        await this.media.createPending(tx, recorded.id, media);
        afterCommit(tx, () => this.downloads.enqueue([{ sessionId: session.id, messageId: recorded.id }]));
      }
      const from = message.senderPhone;
      await this.log.append(tx, {
        sessionId: session.id,
        sessionName: session.name,
        type: 'message.received',
        data: {
          ...toMessageView(recorded),
          from,
          pushName: message.pushName,
          ...(message.quotedWaMessageId ? { quotedWaMessageId: message.quotedWaMessageId } : {}),
          ...(message.reactionTo ? { reaction: { waMessageId: message.reactionTo, emoji: message.text ?? '' } } : {}),
          ...(media ? { media: receivedMediaView(recorded.id, media) } : {}),
        },
      });
      afterCommit(tx, () => this.metrics.inbound());
    });
  }

  async ownMessage(session: SessionRef, message: InboundMessage): Promise<void> {
    await this.transactions.run(async (tx) => {
      const recorded = await this.repository.insertOnce(tx, toRow(session, message, 'OUTBOUND'));
      if (!recorded) return;
      await this.log.append(tx, { sessionId: session.id, sessionName: session.name, type: 'message.sent', data: { ...toMessageView(recorded), fromPhone: true } });
    });
  }

  async receipt(session: SessionRef, receipt: InboundReceipt): Promise<void> {
    if (receipt.status === 'SENT') return; // the server's ack: the send itself recorded SENT
    const status = receipt.status;
    await this.transactions.run(async (tx) => {
      const moved = await this.repository.applyReceipt(tx, session.id, receipt.waMessageId, status, new Date());
      if (!moved) return;
      await this.log.append(tx, { sessionId: session.id, sessionName: session.name, type: status === 'READ' ? 'message.read' : 'message.delivered', data: { ...toMessageView(moved) } });
      afterCommit(tx, () => this.metrics.outbound(status));
    });
  }
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
