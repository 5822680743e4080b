import { Injectable } from '@nestjs/common';
import { PrismaService } from '../../../infra/prisma/prisma.service';
import { dbClient, type DbTransaction } from '../../../infra/prisma/transaction';
import { toRecord, type MessageRecord } from '../message.repository';

const WITH_SESSION = { session: { select: { name: true } } } as const;
/** Errors are kept short on the row (and in events). */
const MAX_ERROR_LENGTH = 500;

export type InboundMediaStatus = 'DOWNLOADING' | 'READY' | 'FAILED';

/** What a received message announced of its file. */
export interface AnnouncedMedia {
  mimetype: string;
  filename: string | null;
  /** Declared bytes, or null. */
  size: number | null;
}

/** What a download needs: the row's state and the engine payload of the message. */
export interface DownloadTarget {
  messageId: string;
  sessionId: string;
  status: InboundMediaStatus;
  attempts: number;
  /** Declared size (0 when unknown). */
  size: number;
  raw: unknown;
}

/** The media of a message as the media route serves it. */
export interface MediaState {
  messageId: string;
  status: InboundMediaStatus;
  mimetype: string;
  filename: string | null;
  size: number;
  sha256: string;
  storageKey: string | null;
  error: string | null;
}

/** The Media rows of received messages: their download state (Media table, inbound rows). */
@Injectable()
export class InboundMediaRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** The DOWNLOADING rows of messages just recorded (a recorder's batch), in the recording transaction, in one statement. */
  async createPendingMany(tx: DbTransaction, rows: Array<{ messageId: string; media: AnnouncedMedia }>): Promise<void> {
    if (!rows.length) return;
    const now = new Date();
    await dbClient(this.prisma, tx).$executeRaw`
      INSERT INTO "Media" ("messageId", "mimetype", "filename", "size", "sha256", "data", "status", "createdAt", "updatedAt")
      SELECT r."messageId", r."mimetype", r."filename", r."size", '', ''::bytea, 'DOWNLOADING'::"MediaStatus", ${now}, ${now}
      FROM unnest(${rows.map((r) => r.messageId)}::uuid[], ${rows.map((r) => r.media.mimetype)}::text[], ${rows.map((r) => r.media.filename)}::text[],
                  ${rows.map((r) => declaredSize(r.media))}::int[]) AS r("messageId", "mimetype", "filename", "size")`;
  }

  async target(messageId: string): Promise<DownloadTarget | null> {
    const row = await this.prisma.media.findUnique({
      where: { messageId },
      select: { status: true, attempts: true, size: true, message: { select: { sessionId: true, direction: true, content: true } } },
    });
    if (!row || row.message.direction !== 'INBOUND') return null;
    return {
      messageId,
      sessionId: row.message.sessionId,
      status: row.status,
      attempts: row.attempts,
      size: row.size,
      raw: (row.message.content as { raw?: unknown } | null)?.raw ?? null,
    };
  }

  /** DOWNLOADING → READY with where the file is; null when the row is not DOWNLOADING (any more). */
  async markReady(tx: DbTransaction, messageId: string, file: { storageKey: string; size: number; sha256: string }): Promise<{ message: MessageRecord; media: MediaState } | null> {
    const db = dbClient(this.prisma, tx);
    const { count } = await db.media.updateMany({
      where: { messageId, status: 'DOWNLOADING' },
      data: { status: 'READY', storageKey: file.storageKey, size: file.size, sha256: file.sha256, error: null, attempts: { increment: 1 }, updatedAt: new Date() },
    });
    return count ? this.withMessage(tx, messageId) : null;
  }

  /** DOWNLOADING → FAILED for good; null when the row is not DOWNLOADING (any more). */
  async markFailed(tx: DbTransaction, messageId: string, error: string): Promise<{ message: MessageRecord; media: MediaState } | null> {
    const db = dbClient(this.prisma, tx);
    const { count } = await db.media.updateMany({
      where: { messageId, status: 'DOWNLOADING' },
      data: { status: 'FAILED', error: error.slice(0, MAX_ERROR_LENGTH), attempts: { increment: 1 }, updatedAt: new Date() },
    });
    return count ? this.withMessage(tx, messageId) : null;
  }

  /** An attempt failed and another will follow: counted, with its error. */
  async attemptFailed(messageId: string, error: string): Promise<void> {
    await this.prisma.media.updateMany({
      where: { messageId, status: 'DOWNLOADING' },
      data: { error: error.slice(0, MAX_ERROR_LENGTH), attempts: { increment: 1 }, updatedAt: new Date() },
    });
  }

  /** Received files of these sessions still DOWNLOADING and unchanged since `before` (oldest first). */
  async pending(sessionIds: string[], before: Date, limit: number): Promise<Array<{ messageId: string; sessionId: string }>> {
    if (!sessionIds.length) return [];
    const rows = await this.prisma.media.findMany({
      where: { status: 'DOWNLOADING', updatedAt: { lt: before }, message: { sessionId: { in: sessionIds }, direction: 'INBOUND' } },
      orderBy: { updatedAt: 'asc' },
      take: limit,
      select: { messageId: true, message: { select: { sessionId: true } } },
    });
    return rows.map((r) => ({ messageId: r.messageId, sessionId: r.message.sessionId }));
  }

  /** The media of a received message; `message: null` for an unknown message, `media: null` when it has none (any more). */
  async stateOf(messageId: string): Promise<{ message: { direction: string; type: string } | null; media: MediaState | null }> {
    const row = await this.prisma.message.findUnique({ where: { id: messageId }, select: { direction: true, type: true, media: { select: MEDIA_STATE } } });
    if (!row) return { message: null, media: null };
    return { message: { direction: row.direction, type: row.type }, media: row.media ? { messageId, ...row.media } : null };
  }

  /** The bytes of a file kept in PostgreSQL (a media message sent with base64 data), or null. */
  async heldBytes(messageId: string): Promise<Buffer | null> {
    const row = await this.prisma.media.findUnique({ where: { messageId }, select: { data: true, storageKey: true } });
    return row && !row.storageKey && row.data.length ? Buffer.from(row.data) : null;
  }

  /** Which of these messages' files are still wanted: the storage keys their Media rows name. */
  async keysInUse(messageIds: string[]): Promise<Set<string>> {
    if (!messageIds.length) return new Set();
    const rows = await this.prisma.media.findMany({ where: { messageId: { in: messageIds }, storageKey: { not: null } }, select: { storageKey: true } });
    return new Set(rows.map((r) => r.storageKey!));
  }

  private async withMessage(tx: DbTransaction, messageId: string): Promise<{ message: MessageRecord; media: MediaState }> {
    const row = await dbClient(this.prisma, tx).message.findUniqueOrThrow({ where: { id: messageId }, include: { ...WITH_SESSION, media: { select: MEDIA_STATE } } });
    return { message: toRecord(row), media: { messageId, ...row.media! } };
  }
}

/** What the sender declared until the bytes are there (an Int column: larger files fail anyway). */
function declaredSize(media: AnnouncedMedia): number {
  return Math.min(media.size ?? 0, 2 ** 31 - 1);
}

const MEDIA_STATE = { status: true, mimetype: true, filename: true, size: true, sha256: true, storageKey: true, error: true } as const;
