import { Injectable } from '@nestjs/common';
import { Prisma } from '../../generated/prisma/client';
import { PrismaService } from '../../infra/prisma/prisma.service';

/**
 * Message statuses that are history: nothing will send them any more. QUEUED
 * and SENDING messages (an outbox row still PENDING or PROCESSING) are never
 * pruned; the expiry takes care of the ones that wait too long.
 */
const SETTLED = Prisma.sql`('SENT', 'DELIVERED', 'READ', 'FAILED', 'EXPIRED', 'CANCELED', 'RECEIVED')`;

/**
 * The cleanup's statements. Every delete is bounded (`LIMIT`) so a job is a
 * loop of short statements, each its own commit, never one giant statement
 * holding locks and bloating WAL. A batch is picked by physical row id:
 * `WHERE ctid = ANY(ARRAY(SELECT ctid ... LIMIT n))` (a TID scan), not by
 * `id IN (SELECT id ...)`: PostgreSQL plans the latter as a hash semi-join
 * over the whole table (every batch rescans it: 42,000 rows/s on 1M outbox
 * rows here, slower as the table grows) and `id = ANY(...)` costs a primary
 * key lookup per row (190,000 rows/s); the TID scan did 430,000 rows/s.
 * The outer statement repeats the conditions of its sub-select: a row that
 * changed between the pick and the delete (a retry, a requeue) has a new
 * version, which PostgreSQL rechecks and leaves alone. Only this file touches
 * the tables for the cleanup: the messaging and webhooks repositories stay
 * as they are.
 */
@Injectable()
export class CleanupRepository {
  constructor(private readonly prisma: PrismaService) {}

  /**
   * Done outbox rows last changed before `before`: COMPLETED ones (a send whose
   * row delete failed), or FAILED ones whose message is FAILED (out of attempts)
   * or EXPIRED (a message moved on by a retry has a fresh row). Index (status, updatedAt).
   */
  async deleteProcessed(kind: 'COMPLETED' | 'FAILED', before: Date, limit: number): Promise<number> {
    if (kind === 'COMPLETED') {
      return this.prisma.$executeRaw`
        DELETE FROM "MessageQueueItem" WHERE "ctid" = ANY(ARRAY(
          SELECT "ctid" FROM "MessageQueueItem" WHERE "status" = 'COMPLETED' AND "updatedAt" < ${before} LIMIT ${limit}
        )) AND "status" = 'COMPLETED' AND "updatedAt" < ${before}`;
    }
    return this.prisma.$executeRaw`
      DELETE FROM "MessageQueueItem" q USING "Message" m
      WHERE q."ctid" = ANY(ARRAY(
        SELECT q2."ctid" FROM "MessageQueueItem" q2 JOIN "Message" m2 ON m2."id" = q2."messageId"
        WHERE q2."status" = 'FAILED' AND q2."updatedAt" < ${before} AND m2."status" IN ('FAILED', 'EXPIRED') LIMIT ${limit}
      )) AND q."status" = 'FAILED' AND q."updatedAt" < ${before} AND m."id" = q."messageId" AND m."status" IN ('FAILED', 'EXPIRED')`;
  }

  /** Webhook deliveries created before `before` (any status: their event goes too). Index (createdAt). */
  async deleteDeliveries(before: Date, limit: number): Promise<number> {
    return this.prisma.$executeRaw`
      DELETE FROM "WebhookDelivery" WHERE "ctid" = ANY(ARRAY(
        SELECT "ctid" FROM "WebhookDelivery" WHERE "createdAt" < ${before} LIMIT ${limit}
      )) AND "createdAt" < ${before}`;
  }

  /**
   * Events created before `before` (after their deliveries, so the cascade has
   * nothing left to do). Sequences go on from the session's counter: the
   * catch-up route starts at the oldest event kept. Index (createdAt).
   */
  async deleteEvents(before: Date, limit: number): Promise<number> {
    return this.prisma.$executeRaw`
      DELETE FROM "Event" WHERE "ctid" = ANY(ARRAY(
        SELECT "ctid" FROM "Event" WHERE "createdAt" < ${before} LIMIT ${limit}
      )) AND "createdAt" < ${before}`;
  }

  /** Idempotency keys taken before `before` (long expired: a key lives 24 h). Index (createdAt). */
  async deleteIdempotencyKeys(before: Date, limit: number): Promise<number> {
    return this.prisma.$executeRaw`
      DELETE FROM "IdempotencyKey" WHERE "ctid" = ANY(ARRAY(
        SELECT "ctid" FROM "IdempotencyKey" WHERE "createdAt" < ${before} LIMIT ${limit}
      )) AND "createdAt" < ${before}`;
  }

  /**
   * The files of prunable messages (see `deleteMessages`), before the messages:
   * at most `limit` rows and about `byteBudget` bytes per statement (the first
   * file always goes, whatever its size), so a batch of large files cannot
   * turn one message delete into gigabytes of TOAST to remove.
   */
  async deleteMedia(before: Date, limit: number, byteBudget: number): Promise<{ rows: number; more: boolean }> {
    const rows = await this.prisma.$executeRaw`
      DELETE FROM "Media" WHERE "messageId" IN (
        SELECT "messageId" FROM (
          SELECT c."messageId", c."size", sum(c."size") OVER (ORDER BY c."messageId") AS "running" FROM (
            SELECT md."messageId", md."size" FROM "Media" md JOIN "Message" m ON m."id" = md."messageId"
            WHERE m."status" IN ${SETTLED} AND m."createdAt" < ${before} AND m."updatedAt" < ${before}
            LIMIT ${limit}
          ) c
        ) w WHERE w."running" - w."size" < ${byteBudget}
      )`;
    // A statement cut short by the byte budget deleted fewer than `limit`: go on until one finds nothing.
    return { rows, more: rows > 0 };
  }

  /**
   * Messages created and last changed before `before`, in a settled status and
   * without an outbox row still to send (a message just expired or read stays
   * for the whole retention from that change). The cascade takes their media,
   * idempotency keys and done outbox rows. Index (status, createdAt).
   */
  async deleteMessages(before: Date, limit: number): Promise<number> {
    return this.prisma.$executeRaw`
      DELETE FROM "Message" WHERE "ctid" = ANY(ARRAY(
        SELECT m."ctid" FROM "Message" m
        WHERE m."status" IN ${SETTLED} AND m."createdAt" < ${before} AND m."updatedAt" < ${before}
          AND NOT EXISTS (SELECT 1 FROM "MessageQueueItem" q WHERE q."messageId" = m."id" AND q."status" IN ('PENDING', 'PROCESSING'))
        LIMIT ${limit}
      )) AND "status" IN ${SETTLED} AND "updatedAt" < ${before}
        AND NOT EXISTS (SELECT 1 FROM "MessageQueueItem" q WHERE q."messageId" = "Message"."id" AND q."status" IN ('PENDING', 'PROCESSING'))`;
  }

  /** Outbox rows by status (the summary log). */
  async outboxByStatus(): Promise<Record<string, number>> {
    const rows = await this.prisma.$queryRaw<Array<{ status: string; n: bigint }>>`
      SELECT "status"::text AS "status", count(*) AS n FROM "MessageQueueItem" GROUP BY "status"`;
    return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
  }
}
