import { Injectable } from '@nestjs/common';
import { Prisma } from '../../generated/prisma/client';
import { PrismaService } from '../../infra/prisma/prisma.service';
import { dbClient, type DbTransaction } from '../../infra/prisma/transaction';
import type { OutboundContent } from '../sessions/engine/whatsapp-engine.port';
import { isStoredMedia, type StoredContent } from './media/media-content';
import type { MessageDirection, MessageStatus } from './messages.dto';

/** A Message row as the messaging module sees it (the API view adds the session's name). */
export interface MessageRecord {
  id: string;
  seq: bigint;
  sessionId: string;
  sessionName: string;
  chatId: string;
  direction: MessageDirection;
  type: string;
  status: MessageStatus;
  text: string | null;
  content: StoredContent | null;
  replyToId: string | null;
  attempts: number;
  error: string | null;
  waMessageId: string | null;
  createdAt: Date;
  sentAt: Date | null;
  deliveredAt: Date | null;
  readAt: Date | null;
}

export interface NewOutboundMessage {
  id: string;
  sessionId: string;
  chatId: string;
  type: string;
  text: string | null;
  content: StoredContent;
  replyToId: string | null;
  /** The file of a media message given as base64, stored with it. */
  file?: MediaFile;
}

/** A media file as the Media table keeps it. */
export interface MediaFile {
  mimetype: string;
  filename: string | null;
  size: number;
  sha256: string;
  data: Buffer;
}

export interface MessageFilter {
  chatId?: string;
  direction?: MessageDirection;
  status?: MessageStatus;
}

type Row = Prisma.MessageGetPayload<{ include: { session: { select: { name: true } } } }>;
const WITH_SESSION = { session: { select: { name: true } } } as const;

/** The Message and IdempotencyKey tables: acceptance, reads and the idempotency record. */
@Injectable()
export class MessageRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** The Message (QUEUED) and its outbox row (PENDING), inside the caller's transaction. */
  async createOutbound(tx: DbTransaction, message: NewOutboundMessage): Promise<MessageRecord> {
    const db = dbClient(this.prisma, tx);
    const row = await db.message.create({
      data: {
        id: message.id,
        sessionId: message.sessionId,
        chatId: message.chatId,
        direction: 'OUTBOUND',
        type: message.type,
        status: 'QUEUED',
        text: message.text,
        content: message.content as unknown as Prisma.InputJsonValue,
        replyToId: message.replyToId,
        queueItem: { create: { sessionId: message.sessionId, chatId: message.chatId } },
        ...(message.file ? { media: { create: { ...message.file, data: new Uint8Array(message.file.data) } } } : {}),
      },
      include: WITH_SESSION,
    });
    return toRecord(row);
  }

  /**
   * Takes an Idempotency-Key for a new message, inside the transaction that
   * creates it. A key still live (younger than `expiredBefore`) is not taken:
   * false. A concurrent request with the same key waits on the unique index
   * until this transaction ends, then finds the key taken. An expired key is
   * taken over.
   */
  async claimIdempotencyKey(
    tx: DbTransaction,
    key: { sessionId: string; key: string; requestHash: string; messageId: string; response: unknown },
    expiredBefore: Date,
  ): Promise<boolean> {
    const rows = await dbClient(this.prisma, tx).$queryRaw<Array<{ key: string }>>`
      INSERT INTO "IdempotencyKey" ("sessionId", "key", "requestHash", "messageId", "response", "createdAt")
      VALUES (${key.sessionId}::uuid, ${key.key}, ${key.requestHash}, ${key.messageId}::uuid, ${JSON.stringify(key.response)}::jsonb, ${new Date()})
      ON CONFLICT ("sessionId", "key") DO UPDATE SET
        "requestHash" = EXCLUDED."requestHash", "messageId" = EXCLUDED."messageId", "response" = EXCLUDED."response", "createdAt" = EXCLUDED."createdAt"
      WHERE "IdempotencyKey"."createdAt" < ${expiredBefore}
      RETURNING "key"`;
    return rows.length > 0;
  }

  async findIdempotencyKey(sessionId: string, key: string): Promise<{ requestHash: string; response: unknown; createdAt: Date } | null> {
    return this.prisma.idempotencyKey.findUnique({ where: { sessionId_key: { sessionId, key } }, select: { requestHash: true, response: true, createdAt: true } });
  }

  async find(id: string): Promise<MessageRecord | null> {
    const row = await this.prisma.message.findUnique({ where: { id }, include: WITH_SESSION });
    return row ? toRecord(row) : null;
  }

  /** A message of one session (a reaction's target, a quoted message). */
  async findInSession(sessionId: string, id: string): Promise<MessageRecord | null> {
    const row = await this.prisma.message.findFirst({ where: { id, sessionId }, include: WITH_SESSION });
    return row ? toRecord(row) : null;
  }

  /** Newest first; `before` is the seq cursor of the previous page's last item. */
  async list(sessionId: string, filter: MessageFilter, before: bigint | null, limit: number): Promise<MessageRecord[]> {
    const rows = await this.prisma.message.findMany({
      where: {
        sessionId,
        ...(filter.chatId ? { chatId: filter.chatId } : {}),
        ...(filter.direction ? { direction: filter.direction === 'outbound' ? 'OUTBOUND' : 'INBOUND' } : {}),
        ...(filter.status ? { status: filter.status } : {}),
        ...(before !== null ? { seq: { lt: before } } : {}),
      },
      orderBy: { seq: 'desc' },
      take: limit,
      include: WITH_SESSION,
    });
    return rows.map(toRecord);
  }

  /**
   * Received messages of a chat not marked read yet (oldest first), with the
   * JID WhatsApp addressed them by (a read receipt goes back that way).
   */
  async unreadInbound(sessionId: string, chatId: string, limit: number): Promise<Array<{ id: string; waMessageId: string; chatJid: string }>> {
    const rows = await this.prisma.message.findMany({
      where: { sessionId, chatId, direction: 'INBOUND', status: 'RECEIVED', readAt: null, waMessageId: { not: null } },
      orderBy: { seq: 'asc' },
      take: limit,
      select: { id: true, waMessageId: true, content: true },
    });
    return rows.map((r) => ({ id: r.id, waMessageId: r.waMessageId!, chatJid: ((r.content as { chatJid?: string } | null)?.chatJid ?? chatId) }));
  }

  /** Received messages this account marked read (their `readAt`). */
  async markReadByUs(ids: string[], at: Date): Promise<void> {
    if (ids.length) await this.prisma.message.updateMany({ where: { id: { in: ids }, readAt: null }, data: { readAt: at } });
  }

  /** The stored file of a media message, or null. */
  async mediaFileOf(messageId: string): Promise<MediaFile | null> {
    const row = await this.prisma.media.findUnique({ where: { messageId } });
    return row ? { mimetype: row.mimetype, filename: row.filename, size: row.size, sha256: row.sha256, data: Buffer.from(row.data) } : null;
  }

  /**
   * What was sent with a WhatsApp id (a recipient asking for a retry of a
   * message it could not decrypt). Media is not re-sent this way: its file
   * would have to be uploaded again; the recipient's retry goes unanswered.
   */
  async contentOf(sessionId: string, waMessageId: string): Promise<OutboundContent | undefined> {
    const row = await this.prisma.message.findUnique({ where: { sessionId_waMessageId: { sessionId, waMessageId } }, select: { content: true, direction: true } });
    const content = row?.direction === 'OUTBOUND' ? (row.content as unknown as StoredContent | null) : null;
    return content && !isStoredMedia(content) ? content : undefined;
  }
}

export function toRecord(row: Row): MessageRecord {
  return {
    id: row.id,
    seq: row.seq,
    sessionId: row.sessionId,
    sessionName: row.session.name,
    chatId: row.chatId,
    direction: row.direction === 'OUTBOUND' ? 'outbound' : 'inbound',
    type: row.type,
    status: row.status,
    text: row.text,
    content: (row.content as unknown as StoredContent | null) ?? null,
    replyToId: row.replyToId,
    attempts: row.attempts,
    error: row.error,
    waMessageId: row.waMessageId,
    createdAt: row.createdAt,
    sentAt: row.sentAt,
    deliveredAt: row.deliveredAt,
    readAt: row.readAt,
  };
}
