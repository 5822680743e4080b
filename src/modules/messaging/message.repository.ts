import { Injectable } from '@nestjs/common';
import { Prisma } from '../../generated/prisma/client';
import { PrismaService } from '../../infra/prisma/prisma.service';
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
  /** When the author edited it (null: never). Absent where a statement did not read it. */
  editedAt?: Date | null;
  /** When the author deleted it for everyone (null: not revoked). */
  revokedAt?: Date | null;
  /** Reactions, one per reactor (`from` null: the account itself, from its phone). */
  reactions?: MessageReaction[] | null;
  /** A group message's receipts per member (read by `find` only). */
  receipts?: ParticipantReceipt[];
}

export interface MessageReaction {
  from: string | null;
  emoji: string;
  at: string;
}

export interface ParticipantReceipt {
  participant: string;
  status: 'DELIVERED' | 'READ';
  at: Date;
}

/** What one accept statement writes: the message, its outbox row, its file and its Idempotency-Key. */
export interface AcceptedOutbound {
  id: string;
  /** The session by name: the statement finds it (visible, locked FOR KEY SHARE) itself. */
  sessionName: string;
  chatId: string;
  type: string;
  text: string | null;
  content: StoredContent;
  replyToId: string | null;
  file?: MediaFile;
  /** The acceptance time: the row's createdAt, so the view built before the statement is the row's. */
  at: Date;
  idempotency?: { key: string; requestHash: string; response: unknown; expiredBefore: Date };
}

/** `sessionId` null: no such visible session. `created` false: the Idempotency-Key is taken (nothing written). */
export interface AcceptResult {
  sessionId: string | null;
  created: boolean;
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

  /**
   * Accepts an outbound message in ONE statement (autocommit, no interactive
   * transaction: the accept route's cost is this round trip): the session,
   * found by name and locked FOR KEY SHARE (a DELETE renames the row, a key
   * update that conflicts with it: the DELETE, which cancels what it finds
   * queued, waits for this statement, and a deleted session accepts nothing).
   * KEY SHARE, not SHARE: the send records and inbound batches hold the row
   * FOR NO KEY UPDATE for its stats, which SHARE waits for, and such a wait
   * deadlocked with them (an accept failed with a 500).
   * the Idempotency-Key when given, the Message (QUEUED), its outbox row
   * (PENDING) and its file. The key goes first and everything else selects
   * from it: a key taken by another request (one still running waits on the
   * unique index until it ends) writes nothing. The foreign keys between the
   * rows are checked at the end of the statement, when all of them exist.
   * The Session table belongs to the sessions module; this statement only
   * reads and key-share-locks its row, as `SessionsService.lockVisible` does.
   */
  async accept(m: AcceptedOutbound): Promise<AcceptResult> {
    const key = m.idempotency;
    const parent = key
      ? Prisma.sql`k AS (
          INSERT INTO "IdempotencyKey" ("sessionId", "key", "requestHash", "messageId", "response", "createdAt")
          SELECT s."id", ${key.key}, ${key.requestHash}, ${m.id}::uuid, ${JSON.stringify(key.response)}::jsonb, ${m.at} FROM s
          ON CONFLICT ("sessionId", "key") DO UPDATE SET
            "requestHash" = EXCLUDED."requestHash", "messageId" = EXCLUDED."messageId", "response" = EXCLUDED."response", "createdAt" = EXCLUDED."createdAt"
          WHERE "IdempotencyKey"."createdAt" < ${key.expiredBefore}
          RETURNING "sessionId" AS "id"
        ),`
      : Prisma.sql`k AS (SELECT "id" FROM s),`;
    const file = m.file
      ? Prisma.sql`, f AS (
          INSERT INTO "Media" ("messageId", "mimetype", "filename", "size", "sha256", "data", "createdAt")
          SELECT msg."id", ${m.file.mimetype}, ${m.file.filename}, ${m.file.size}, ${m.file.sha256}, ${new Uint8Array(m.file.data)}, ${m.at} FROM msg
          RETURNING 1
        )`
      : Prisma.empty;
    const rows = await this.prisma.$queryRaw<Array<{ sessionId: string; created: boolean }>>`
      WITH s AS (SELECT "id" FROM "Session" WHERE "name" = ${m.sessionName} AND "deletedAt" IS NULL FOR KEY SHARE),
      ${parent}
      msg AS (
        INSERT INTO "Message" ("id", "sessionId", "chatId", "direction", "type", "status", "text", "content", "replyToId", "createdAt", "updatedAt")
        SELECT ${m.id}::uuid, k."id", ${m.chatId}, 'OUTBOUND', ${m.type}, 'QUEUED', ${m.text}, ${JSON.stringify(m.content)}::jsonb, ${m.replyToId}::uuid, ${m.at}, ${m.at} FROM k
        RETURNING "id", "sessionId"
      ), q AS (
        INSERT INTO "MessageQueueItem" ("id", "sessionId", "chatId", "messageId", "availableAt", "createdAt", "updatedAt")
        SELECT gen_random_uuid(), msg."sessionId", ${m.chatId}, msg."id", ${m.at}, ${m.at}, ${m.at} FROM msg
        RETURNING 1
      )${file}
      SELECT s."id"::text AS "sessionId", EXISTS (SELECT 1 FROM q) AS "created" FROM s`;
    const row = rows[0];
    return row ? { sessionId: row.sessionId, created: row.created } : { sessionId: null, created: false };
  }

  /**
   * Accepts several outbound messages WITHOUT a file in ONE statement (the
   * accepts of concurrent requests, batched by the service): what `accept`
   * does for one, for each row, in the order of `batch` (a chat's outbox rows
   * take their `seq` in that order). Results in the order of `batch`. Two rows
   * with the same session and Idempotency-Key must not share a batch (the key
   * row would be written twice: PostgreSQL refuses the statement).
   */
  async acceptMany(batch: AcceptedOutbound[], idempotencyTtlMs: number): Promise<AcceptResult[]> {
    if (batch.some((m) => m.file)) throw new Error('acceptMany takes messages without a file');
    const rows = await this.prisma.$queryRaw<Array<{ id: string; sessionId: string | null; created: boolean }>>`
      WITH x AS (
        SELECT * FROM unnest(
          ${batch.map((m) => m.id)}::uuid[], ${batch.map((m) => m.sessionName)}::text[], ${batch.map((m) => m.chatId)}::text[],
          ${batch.map((m) => m.type)}::text[], ${batch.map((m) => m.text)}::text[], ${batch.map((m) => JSON.stringify(m.content))}::jsonb[],
          ${batch.map((m) => m.replyToId)}::uuid[], ${batch.map((m) => m.at)}::timestamp[], ${batch.map((m) => m.idempotency?.key ?? null)}::text[],
          ${batch.map((m) => m.idempotency?.requestHash ?? null)}::text[], ${batch.map((m) => (m.idempotency ? JSON.stringify(m.idempotency.response) : null))}::jsonb[],
          ${batch.map((_, i) => i)}::int[]
        ) AS x("id", "sessionName", "chatId", "type", "text", "content", "replyToId", "at", "key", "requestHash", "response", "ord")
      ), s AS (
        SELECT "id", "name" FROM "Session" WHERE "name" IN (SELECT "sessionName" FROM x) AND "deletedAt" IS NULL ORDER BY "id" FOR KEY SHARE
      ), k AS (
        INSERT INTO "IdempotencyKey" ("sessionId", "key", "requestHash", "messageId", "response", "createdAt")
        SELECT s."id", x."key", x."requestHash", x."id", x."response", x."at" FROM x JOIN s ON s."name" = x."sessionName" WHERE x."key" IS NOT NULL
        ON CONFLICT ("sessionId", "key") DO UPDATE SET
          "requestHash" = EXCLUDED."requestHash", "messageId" = EXCLUDED."messageId", "response" = EXCLUDED."response", "createdAt" = EXCLUDED."createdAt"
        WHERE "IdempotencyKey"."createdAt" < EXCLUDED."createdAt" - ${idempotencyTtlMs} * interval '1 millisecond'
        RETURNING "messageId"
      ), ok AS (
        SELECT x.*, s."id" AS "sessionId" FROM x JOIN s ON s."name" = x."sessionName"
        WHERE x."key" IS NULL OR x."id" IN (SELECT "messageId" FROM k)
      ), msg AS (
        INSERT INTO "Message" ("id", "sessionId", "chatId", "direction", "type", "status", "text", "content", "replyToId", "createdAt", "updatedAt")
        SELECT ok."id", ok."sessionId", ok."chatId", 'OUTBOUND', ok."type", 'QUEUED', ok."text", ok."content", ok."replyToId", ok."at", ok."at" FROM ok ORDER BY ok."ord"
        RETURNING "id"
      ), q AS (
        INSERT INTO "MessageQueueItem" ("id", "sessionId", "chatId", "messageId", "availableAt", "createdAt", "updatedAt")
        SELECT gen_random_uuid(), ok."sessionId", ok."chatId", msg."id", ok."at", ok."at", ok."at" FROM msg JOIN ok ON ok."id" = msg."id" ORDER BY ok."ord"
        RETURNING "messageId"
      )
      SELECT x."id"::text AS "id", s."id"::text AS "sessionId", EXISTS (SELECT 1 FROM q WHERE q."messageId" = x."id") AS "created"
      FROM x LEFT JOIN s ON s."name" = x."sessionName"`;
    const byId = new Map(rows.map((r) => [r.id, r]));
    return batch.map((m) => {
      const row = byId.get(m.id);
      return row?.sessionId ? { sessionId: row.sessionId, created: row.created } : { sessionId: null, created: false };
    });
  }

  async findIdempotencyKey(sessionId: string, key: string): Promise<{ requestHash: string; response: unknown; createdAt: Date } | null> {
    return this.prisma.idempotencyKey.findUnique({ where: { sessionId_key: { sessionId, key } }, select: { requestHash: true, response: true, createdAt: true } });
  }

  /** One message with, for a group message, its receipts per member (GET /api/messages/:id). */
  async find(id: string): Promise<MessageRecord | null> {
    const row = await this.prisma.message.findUnique({
      where: { id },
      include: { ...WITH_SESSION, receipts: { select: { participant: true, status: true, at: true }, orderBy: [{ at: 'asc' }, { participant: 'asc' }] } },
    });
    if (!row) return null;
    const { receipts, ...rest } = row;
    return { ...toRecord(rest), receipts: receipts.map((r) => ({ participant: r.participant, status: r.status === 'READ' ? 'READ' : 'DELIVERED', at: r.at })) };
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

/**
 * The Message columns a raw statement returns for `rawRecord`, read from the
 * Message as `m` and its Session as `s` (enums and uuids as text): statements
 * that change messages return their records themselves, with the session's
 * name, instead of reading them again.
 */
export const RAW_MESSAGE_COLUMNS = Prisma.sql`m."id"::text AS "id", m."seq", m."sessionId"::text AS "sessionId", s."name" AS "sessionName", m."chatId",
  m."direction"::text AS "direction", m."type", m."status"::text AS "status", m."text", m."content", m."replyToId"::text AS "replyToId", m."attempts",
  m."error", m."waMessageId", m."createdAt", m."sentAt", m."deliveredAt", m."readAt", m."editedAt", m."revokedAt", m."reactions"`;

/** A row of RAW_MESSAGE_COLUMNS. */
export type RawMessageRow = Omit<Row, 'seq' | 'session' | 'updatedAt'> & { seq: bigint | number | string; sessionName: string };

/** The record of a row read with RAW_MESSAGE_COLUMNS. */
export function rawRecord(row: RawMessageRow): MessageRecord {
  return toRecord({ ...row, seq: BigInt(row.seq), session: { name: row.sessionName } } as unknown as Row);
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
    editedAt: row.editedAt ?? null,
    revokedAt: row.revokedAt ?? null,
    reactions: Array.isArray(row.reactions) ? (row.reactions as unknown as MessageReaction[]) : null,
  };
}
