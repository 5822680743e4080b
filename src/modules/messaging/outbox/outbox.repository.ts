import { Injectable } from '@nestjs/common';
import { PrismaService } from '../../../infra/prisma/prisma.service';
import { dbClient, type DbTransaction } from '../../../infra/prisma/transaction';
import { RAW_MESSAGE_COLUMNS, rawRecord, toRecord, type MessageRecord, type RawMessageRow } from '../message.repository';
import type { MessageViewSource } from '../message.view';

const WITH_SESSION = { session: { select: { name: true } } } as const;

/** An outbox row taken by a drain. */
export interface ClaimedItem {
  id: string;
  messageId: string;
  attempts: number;
}

export type HeadClaim =
  | { kind: 'empty' }
  /** The head is PROCESSING: another drain has it, or its worker died (the stale-lock reset frees it). */
  | { kind: 'busy' }
  /** The head waits for its retry time: the chat waits with it (order). */
  | { kind: 'later'; at: Date }
  | { kind: 'claimed'; item: ClaimedItem; message: MessageRecord };

/** A message sent, to be recorded as SENT: its claimed row, the WhatsApp id it went with and when. */
export interface SentItem {
  item: ClaimedItem;
  waMessageId: string;
  at: Date;
}

/** The claim statement's row: the head's columns, and the claimed message's (all null when not claimed). */
type HeadRow = { queueItemId: string; queueStatus: string; queueAttempts: number; queueAvailableAt: Date } & (RawMessageRow | { [K in keyof RawMessageRow]: null });

/** A message the expiry just moved to EXPIRED: what its message.expired event is built from. */
export type ExpiredMessage = MessageViewSource & { sessionId: string };

export type CancelResult = { kind: 'canceled'; message: MessageRecord } | { kind: 'conflict'; status: string; reason: string } | { kind: 'missing' };
export type RequeueResult = { kind: 'requeued'; message: MessageRecord } | { kind: 'conflict'; status: string } | { kind: 'missing' };

/**
 * The outbox's state changes: MessageQueueItem rows and the status of their
 * Message, changed together. A chat's rows leave in `seq` order: a drain
 * takes the chat's head row only, locks it while it decides, and marks it
 * PROCESSING with its owner before sending; every later change of a claimed
 * row is conditioned on that owner (a row the stale-lock reset gave to
 * another drain is not overwritten).
 */
@Injectable()
export class OutboxRepository {
  constructor(private readonly prisma: PrismaService) {}

  /**
   * Takes the chat's head row when it is PENDING and due, in ONE statement
   * (autocommit, no interactive transaction: a drain claims once per message):
   * the head is locked FOR UPDATE without SKIP LOCKED (skipping a locked head
   * would send the row behind it first), marked PROCESSING with its owner, and
   * its Message goes SENDING with its WhatsApp id (a receipt can reach ZapHub
   * before the send's own commit does), returned with the session's name.
   * The WhatsApp id is computed in SQL exactly as `waMessageIdFor` does.
   */
  async claimHead(sessionId: string, chatId: string, owner: string, now: Date): Promise<HeadClaim> {
    const [head] = await this.prisma.$queryRaw<Array<HeadRow>>`
      WITH head AS (
        SELECT "id", "messageId", "status", "attempts", "availableAt" FROM "MessageQueueItem"
        WHERE "sessionId" = ${sessionId}::uuid AND "chatId" = ${chatId} AND "status" IN ('PENDING', 'PROCESSING')
        ORDER BY "seq" LIMIT 1
        FOR UPDATE
      ), claimed AS (
        UPDATE "MessageQueueItem" q SET "status" = 'PROCESSING', "lockedBy" = ${owner}, "lockedAt" = ${now}, "updatedAt" = ${now}
        FROM head WHERE q."id" = head."id" AND head."status" = 'PENDING' AND head."availableAt" <= ${now}
        RETURNING q."messageId"
      ), sending AS (
        UPDATE "Message" m SET "status" = 'SENDING', "updatedAt" = ${now},
          "waMessageId" = '3EB0' || upper(left(encode(sha256(convert_to('zaphub:' || m."id"::text, 'UTF8')), 'hex'), 18))
        FROM claimed, "Session" s WHERE m."id" = claimed."messageId" AND s."id" = m."sessionId"
        RETURNING ${RAW_MESSAGE_COLUMNS}
      )
      SELECT head."id"::text AS "queueItemId", head."status"::text AS "queueStatus", head."attempts" AS "queueAttempts", head."availableAt" AS "queueAvailableAt", sending.*
      FROM head LEFT JOIN sending ON true`;
    if (!head) return { kind: 'empty' };
    const { queueItemId, queueStatus, queueAttempts, queueAvailableAt, ...message } = head;
    if (message.id === null) return queueStatus === 'PROCESSING' ? { kind: 'busy' } : { kind: 'later', at: queueAvailableAt };
    return { kind: 'claimed', item: { id: queueItemId, messageId: message.id, attempts: queueAttempts }, message: rawRecord(message as RawMessageRow) };
  }

  /**
   * Sent: each Message SENT with its WhatsApp id, each outbox row deleted at
   * once (the seeds' database grew by keeping them), in ONE statement for a
   * batch of sends, inside the caller's transaction (which also appends their
   * message.sent). The messages are locked in id order first, so two batches
   * (or a batch of receipts, which lock the same way) never wait on each other
   * in a cycle (FOR NO KEY UPDATE, as a plain UPDATE: rows that reference a
   * message, such as its receipts, may still be inserted meanwhile). Records
   * in the order of `sent`.
   */
  async markSentMany(tx: DbTransaction, owner: string, sent: SentItem[]): Promise<MessageRecord[]> {
    if (!sent.length) return [];
    const now = new Date();
    const rows = await dbClient(this.prisma, tx).$queryRaw<RawMessageRow[]>`
      WITH x AS (
        SELECT * FROM unnest(${sent.map((s) => s.item.id)}::uuid[], ${sent.map((s) => s.item.messageId)}::uuid[],
          ${sent.map((s) => s.waMessageId)}::text[], ${sent.map((s) => s.at)}::timestamp[]) AS x("itemId", "messageId", "waMessageId", "at")
      ), deleted AS (
        DELETE FROM "MessageQueueItem" q USING x WHERE q."id" = x."itemId" AND q."lockedBy" = ${owner}
      ), locked AS MATERIALIZED (
        SELECT m."id" FROM "Message" m WHERE m."id" IN (SELECT "messageId" FROM x) ORDER BY m."id" FOR NO KEY UPDATE
      )
      UPDATE "Message" m SET
        -- A receipt recorded while the send was finishing already moved it on: SENT must not move it back.
        "status" = CASE WHEN m."status" IN ('DELIVERED', 'READ') THEN m."status" ELSE 'SENT'::"MessageStatus" END,
        "waMessageId" = x."waMessageId", "sentAt" = x."at", "attempts" = m."attempts" + 1, "error" = NULL, "updatedAt" = ${now}
      FROM x, locked, "Session" s
      WHERE m."id" = x."messageId" AND locked."id" = m."id" AND s."id" = m."sessionId"
      RETURNING ${RAW_MESSAGE_COLUMNS}`;
    const byId = new Map(rows.map((r) => [r.id, rawRecord(r)]));
    return sent.map((s) => {
      const record = byId.get(s.item.messageId);
      if (!record) throw new Error('a sent message is gone');
      return record;
    });
  }

  /** A failed attempt with attempts left: back to PENDING, not before `availableAt`. */
  async markRetry(item: ClaimedItem, owner: string, error: string, availableAt: Date): Promise<void> {
    await this.prisma.$transaction(async (tx) => {
      const { count } = await tx.messageQueueItem.updateMany({
        where: { id: item.id, lockedBy: owner, status: 'PROCESSING' },
        data: { status: 'PENDING', attempts: { increment: 1 }, lastError: error, availableAt, lockedBy: null, lockedAt: null },
      });
      if (count) await tx.message.update({ where: { id: item.messageId }, data: { status: 'QUEUED', attempts: { increment: 1 }, error } });
    });
  }

  /** Out of attempts: the row and the Message FAILED (inside the transaction that appends message.failed). */
  async markFailed(tx: DbTransaction, item: ClaimedItem, owner: string, error: string): Promise<MessageRecord | null> {
    const db = dbClient(this.prisma, tx);
    const { count } = await db.messageQueueItem.updateMany({
      where: { id: item.id, lockedBy: owner, status: 'PROCESSING' },
      data: { status: 'FAILED', attempts: { increment: 1 }, lastError: error, lockedBy: null, lockedAt: null },
    });
    if (!count) return null;
    const message = await db.message.update({ where: { id: item.messageId }, data: { status: 'FAILED', attempts: { increment: 1 }, error }, include: WITH_SESSION });
    return toRecord(message);
  }

  /** Not sent and not an attempt (the session stopped working here): back to PENDING as it was. */
  async release(item: ClaimedItem, owner: string): Promise<void> {
    await this.prisma.$transaction(async (tx) => {
      const { count } = await tx.messageQueueItem.updateMany({ where: { id: item.id, lockedBy: owner, status: 'PROCESSING' }, data: { status: 'PENDING', lockedBy: null, lockedAt: null } });
      if (count) await tx.message.updateMany({ where: { id: item.messageId, status: 'SENDING' }, data: { status: 'QUEUED' } });
    });
  }

  /** Chats of these sessions whose head may be sendable now (PENDING and due). */
  async pendingChats(sessionIds: string[], now: Date, limit: number): Promise<Array<{ sessionId: string; chatId: string }>> {
    if (!sessionIds.length) return [];
    return this.prisma.$queryRaw<Array<{ sessionId: string; chatId: string }>>`
      SELECT DISTINCT "sessionId"::text AS "sessionId", "chatId" FROM "MessageQueueItem"
      WHERE "sessionId" = ANY(${sessionIds}::uuid[]) AND "status" = 'PENDING' AND "availableAt" <= ${now}
      LIMIT ${limit}`;
  }

  /** Sessions with more than `threshold` messages still to send, with that number. */
  async crowdedSessions(threshold: number): Promise<Array<{ sessionId: string; name: string; pending: number }>> {
    const rows = await this.prisma.$queryRaw<Array<{ sessionId: string; name: string; pending: bigint }>>`
      SELECT q."sessionId"::text AS "sessionId", s."name", q."pending" FROM (
        SELECT "sessionId", count(*) AS "pending" FROM "MessageQueueItem"
        WHERE "status" IN ('PENDING', 'PROCESSING') GROUP BY "sessionId" HAVING count(*) > ${threshold}
      ) q JOIN "Session" s ON s."id" = q."sessionId"`;
    return rows.map((r) => ({ sessionId: r.sessionId, name: r.name, pending: Number(r.pending) }));
  }

  /**
   * Up to `limit` messages still QUEUED whose outbox row has been PENDING
   * since before `before` (acceptance time): the row FAILED with `error`, the
   * message EXPIRED with it, inside `tx` (the caller appends the events). Rows
   * or messages locked right now (a drain claiming the chat's head, a cancel, a
   * requeue) are skipped: the next run sees them again if they still wait.
   * One statement; index (status, createdAt).
   */
  async expirePending(tx: DbTransaction, before: Date, limit: number, error: string, now: Date): Promise<ExpiredMessage[]> {
    return dbClient(this.prisma, tx).$queryRaw<ExpiredMessage[]>`
      WITH picked AS (
        SELECT q."id", q."messageId" FROM "MessageQueueItem" q JOIN "Message" m ON m."id" = q."messageId"
        WHERE q."status" = 'PENDING' AND q."createdAt" < ${before} AND m."status" = 'QUEUED'
        ORDER BY q."createdAt"
        LIMIT ${limit}
        FOR UPDATE OF q, m SKIP LOCKED
      ), failed AS (
        UPDATE "MessageQueueItem" q SET "status" = 'FAILED', "lastError" = ${error}, "updatedAt" = ${now}
        FROM picked WHERE q."id" = picked."id" RETURNING q."messageId"
      )
      UPDATE "Message" m SET "status" = 'EXPIRED', "error" = ${error}, "updatedAt" = ${now}
      FROM failed, "Session" s
      WHERE m."id" = failed."messageId" AND s."id" = m."sessionId"
      RETURNING m."id"::text AS "id", m."sessionId"::text AS "sessionId", s."name" AS "sessionName", m."chatId",
        lower(m."direction"::text) AS "direction", m."type", m."status"::text AS "status", m."text", m."attempts", m."error",
        m."waMessageId", m."createdAt", m."sentAt", m."deliveredAt", m."readAt"`;
  }

  /** PROCESSING rows locked before `lockedBefore` (their worker died or hung): back to PENDING. */
  async resetStale(lockedBefore: Date, limit: number): Promise<number> {
    return this.prisma.$transaction(async (tx) => {
      const rows = await tx.$queryRaw<Array<{ messageId: string }>>`
        UPDATE "MessageQueueItem" SET "status" = 'PENDING', "lockedBy" = NULL, "lockedAt" = NULL, "updatedAt" = ${new Date()}
        WHERE "id" IN (SELECT "id" FROM "MessageQueueItem" WHERE "status" = 'PROCESSING' AND "lockedAt" < ${lockedBefore} LIMIT ${limit} FOR UPDATE SKIP LOCKED)
        RETURNING "messageId"::text AS "messageId"`;
      if (rows.length) await tx.message.updateMany({ where: { id: { in: rows.map((r) => r.messageId) }, status: 'SENDING' }, data: { status: 'QUEUED' } });
      return rows.length;
    });
  }

  /**
   * PROCESSING rows of a session locked by another worker, back to PENDING:
   * called by the session's new owner (it holds the lease now, so the old
   * owner can send nothing more through that session; a send it had under
   * way goes again with the same WhatsApp id, a copy the phone drops).
   */
  async releaseForeignLocks(sessionId: string, owner: string): Promise<number> {
    return this.prisma.$transaction(async (tx) => {
      const rows = await tx.$queryRaw<Array<{ messageId: string }>>`
        UPDATE "MessageQueueItem" SET "status" = 'PENDING', "lockedBy" = NULL, "lockedAt" = NULL, "updatedAt" = ${new Date()}
        WHERE "sessionId" = ${sessionId}::uuid AND "status" = 'PROCESSING' AND "lockedBy" IS DISTINCT FROM ${owner}
        RETURNING "messageId"::text AS "messageId"`;
      if (rows.length) await tx.message.updateMany({ where: { id: { in: rows.map((r) => r.messageId) }, status: 'SENDING' }, data: { status: 'QUEUED' } });
      return rows.length;
    });
  }

  /** QUEUED → CANCELED, unless its row is being sent right now. */
  async cancel(messageId: string): Promise<CancelResult> {
    return this.prisma.$transaction(async (tx) => {
      const [message] = await tx.$queryRaw<Array<{ status: string }>>`SELECT "status"::text AS "status" FROM "Message" WHERE "id" = ${messageId}::uuid FOR UPDATE`;
      if (!message) return { kind: 'missing' } as const;
      if (message.status !== 'QUEUED') return { kind: 'conflict', status: message.status, reason: `only a QUEUED message can be canceled (it is ${message.status})` } as const;
      const [item] = await tx.$queryRaw<Array<{ status: string }>>`SELECT "status"::text AS "status" FROM "MessageQueueItem" WHERE "messageId" = ${messageId}::uuid FOR UPDATE`;
      if (item?.status === 'PROCESSING') return { kind: 'conflict', status: 'SENDING', reason: 'the message is being sent right now' } as const;
      await tx.messageQueueItem.deleteMany({ where: { messageId } });
      const updated = await tx.message.update({ where: { id: messageId }, data: { status: 'CANCELED' }, include: WITH_SESSION });
      return { kind: 'canceled', message: toRecord(updated) } as const;
    });
  }

  /**
   * Every QUEUED message of a session CANCELED, its outbox rows deleted (the
   * session is being deleted, in this transaction). A row being sent right now
   * is left to finish: its message ends SENT or goes with the session.
   */
  async cancelAllOfSession(tx: DbTransaction, sessionId: string): Promise<number> {
    const db = dbClient(this.prisma, tx);
    const rows = await db.$queryRaw<Array<{ messageId: string }>>`
      DELETE FROM "MessageQueueItem" WHERE "sessionId" = ${sessionId}::uuid AND "status" IN ('PENDING', 'FAILED')
      RETURNING "messageId"::text AS "messageId"`;
    if (!rows.length) return 0;
    const { count } = await db.message.updateMany({ where: { id: { in: rows.map((r) => r.messageId) }, status: 'QUEUED' }, data: { status: 'CANCELED' } });
    return count;
  }

  /**
   * FAILED or EXPIRED → QUEUED with a fresh outbox row: it goes to the back of
   * its chat's queue (a new seq), with its attempts from zero. Inside the
   * caller's transaction (which holds the session, see SessionsService.lockVisible).
   */
  async requeue(transaction: DbTransaction, messageId: string): Promise<RequeueResult> {
    const tx = dbClient(this.prisma, transaction);
    const [message] = await tx.$queryRaw<Array<{ status: string; sessionId: string; chatId: string }>>`
      SELECT "status"::text AS "status", "sessionId"::text AS "sessionId", "chatId" FROM "Message" WHERE "id" = ${messageId}::uuid AND "direction" = 'OUTBOUND' FOR UPDATE`;
    if (!message) return { kind: 'missing' } as const;
    if (message.status !== 'FAILED' && message.status !== 'EXPIRED') return { kind: 'conflict', status: message.status } as const;
    await tx.messageQueueItem.deleteMany({ where: { messageId } });
    await tx.messageQueueItem.create({ data: { sessionId: message.sessionId, chatId: message.chatId, messageId } });
    const updated = await tx.message.update({ where: { id: messageId }, data: { status: 'QUEUED', attempts: 0, error: null }, include: WITH_SESSION });
    return { kind: 'requeued', message: toRecord(updated) } as const;
  }

  /** Rows by status and the creation time of the oldest PENDING one (the metrics' picture). */
  async summary(): Promise<{ byStatus: Record<string, number>; oldestPendingAt: Date | null }> {
    const rows = await this.prisma.$queryRaw<Array<{ status: string; n: bigint; oldest: Date | null }>>`
      SELECT "status"::text AS "status", count(*) AS n, min("createdAt") FILTER (WHERE "status" = 'PENDING') AS oldest
      FROM "MessageQueueItem" GROUP BY "status"`;
    return {
      byStatus: Object.fromEntries(rows.map((r) => [r.status, Number(r.n)])),
      oldestPendingAt: rows.find((r) => r.status === 'PENDING')?.oldest ?? null,
    };
  }
}
