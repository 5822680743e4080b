import { Injectable } from '@nestjs/common';
import { Prisma, type WebhookDelivery } from '../../../generated/prisma/client';
import { PrismaService } from '../../../infra/prisma/prisma.service';
import { dbClient, type DbTransaction } from '../../../infra/prisma/transaction';
import type { WebhookRecord } from '../webhook.repository';

export type DeliveryStatus = 'PENDING' | 'DELIVERED' | 'FAILED';
export const DELIVERY_STATUSES: readonly DeliveryStatus[] = ['PENDING', 'DELIVERED', 'FAILED'];

export interface DeliveryRecord {
  id: string;
  seq: bigint;
  webhookId: string;
  eventId: string | null;
  sessionId: string | null;
  eventType: string;
  /** The envelope of a test ping (eventId null). */
  payload: Record<string, unknown> | null;
  status: DeliveryStatus;
  attempts: number;
  nextAttemptAt: Date;
  lastStatusCode: number | null;
  lastError: string | null;
  createdAt: Date;
  deliveredAt: Date | null;
}

/** A claimed delivery with what its attempt needs: the endpoint's URL, status and stored secrets. */
export interface ClaimedDelivery extends DeliveryRecord {
  webhook: Pick<WebhookRecord, 'id' | 'url' | 'status' | 'secret' | 'previousSecret' | 'previousSecretExpiresAt'>;
}

/** What one attempt ended with. */
export type AttemptOutcome =
  | { kind: 'delivered'; statusCode: number; at: Date }
  | { kind: 'retry'; statusCode: number | null; error: string; nextAttemptAt: Date }
  | { kind: 'failed'; statusCode: number | null; error: string; countsAsAttempt: boolean };

export interface DeliveryFilter {
  status?: DeliveryStatus;
  sessionId?: string;
  webhookId?: string;
}

/** The WebhookDelivery table (only this file of the webhooks module touches it). */
@Injectable()
export class DeliveryRepository {
  constructor(private readonly prisma: PrismaService) {}

  /**
   * Fan-out of one event, inside its transaction: one PENDING delivery per
   * ACTIVE endpoint that subscribes to it (the session's own and the global
   * ones, filter `*` or the event's type), in one statement. The unique
   * (event, webhook) pair makes a repeat insert nothing. Returns the new ids.
   */
  async fanOut(tx: DbTransaction, event: { id: string; sessionId: string; type: string; createdAt: Date }): Promise<string[]> {
    const rows = await dbClient(this.prisma, tx).$queryRaw<Array<{ id: string }>>`
      INSERT INTO "WebhookDelivery" ("id", "webhookId", "eventId", "sessionId", "eventType", "nextAttemptAt", "createdAt")
      SELECT gen_random_uuid(), w."id", ${event.id}, ${event.sessionId}::uuid, ${event.type}, ${event.createdAt}, ${event.createdAt}
      FROM "Webhook" w
      WHERE w."status" = 'ACTIVE'
        AND (w."sessionId" = ${event.sessionId}::uuid OR w."sessionId" IS NULL)
        AND (w."events" @> ARRAY['*'] OR w."events" @> ARRAY[${event.type}])
      ORDER BY w."createdAt", w."id"
      ON CONFLICT ("eventId", "webhookId") DO NOTHING
      RETURNING "id"`;
    return rows.map((r) => r.id);
  }

  /** A test ping: a delivery of an envelope that is not in any session's event log. */
  async createPing(webhookId: string, sessionId: string | null, payload: Record<string, unknown>): Promise<DeliveryRecord> {
    const row = await this.prisma.webhookDelivery.create({
      data: { webhookId, sessionId, eventType: String(payload.event), payload: payload as Prisma.InputJsonValue },
    });
    return toRecord(row);
  }

  /**
   * Takes a due PENDING delivery for one attempt, in one statement: pushes its
   * nextAttemptAt to `leaseUntil` (past the attempt's timeout) and returns the
   * row as claimed with its endpoint, so a second trigger of the same delivery
   * finds it not due and does nothing, and a worker that dies mid-attempt
   * leaves a row that becomes due again by itself. Null when not due, not
   * PENDING or gone.
   */
  async claim(id: string, now: Date, leaseUntil: Date): Promise<ClaimedDelivery | null> {
    const rows = await this.prisma.$queryRaw<ClaimedRow[]>`
      WITH claimed AS (
        UPDATE "WebhookDelivery" SET "nextAttemptAt" = ${leaseUntil}
        WHERE "id" = ${id}::uuid AND "status" = 'PENDING' AND "nextAttemptAt" <= ${now}
        RETURNING *
      )
      SELECT c.*, w."url", w."status"::text AS "webhookStatus", w."secret", w."previousSecret", w."previousSecretExpiresAt"
      FROM claimed c JOIN "Webhook" w ON w."id" = c."webhookId"`;
    return rows[0] ? toClaimed(rows[0]) : null;
  }

  /**
   * The dispatcher's claim: up to `limit` due first attempts (attempts = 0:
   * new deliveries, redelivered ones, and first attempts whose worker died),
   * lowest `seq` first, so deliveries leave in the order their events were
   * appended. One statement; `SKIP LOCKED` lets replicas claim side by side
   * without waiting on each other or taking the same row. Retries are not
   * taken here: their delayed triggers bring them (see the reconciler).
   */
  async claimFirstAttempts(limit: number, now: Date, leaseUntil: Date): Promise<ClaimedDelivery[]> {
    const rows = await this.prisma.$queryRaw<ClaimedRow[]>`
      WITH due AS (
        SELECT "id" FROM "WebhookDelivery"
        WHERE "status" = 'PENDING' AND "attempts" = 0 AND "nextAttemptAt" <= ${now}
        ORDER BY "seq"
        LIMIT ${limit}
        FOR UPDATE SKIP LOCKED
      ), claimed AS (
        UPDATE "WebhookDelivery" d SET "nextAttemptAt" = ${leaseUntil}
        FROM due WHERE d."id" = due."id"
        RETURNING d.*
      )
      SELECT c.*, w."url", w."status"::text AS "webhookStatus", w."secret", w."previousSecret", w."previousSecretExpiresAt"
      FROM claimed c JOIN "Webhook" w ON w."id" = c."webhookId"
      ORDER BY c."seq"`;
    return rows.map(toClaimed);
  }

  /**
   * Records the outcomes of several attempts in one statement, each only if
   * its row is still the claimed one (PENDING, same attempts, same lease): a
   * redeliver or a newer claim in between wins. Returns the ids written.
   */
  async recordMany(items: Array<{ claimed: Pick<DeliveryRecord, 'id' | 'attempts' | 'nextAttemptAt'>; outcome: AttemptOutcome }>): Promise<Set<string>> {
    if (!items.length) return new Set();
    const column = {
      id: [] as string[],
      status: [] as DeliveryStatus[],
      attempts: [] as number[],
      code: [] as Array<number | null>,
      error: [] as Array<string | null>,
      next: [] as Array<string | null>,
      delivered: [] as Array<string | null>,
      previous: [] as number[],
      lease: [] as string[],
    };
    for (const { claimed, outcome } of items) {
      column.id.push(claimed.id);
      column.status.push(outcome.kind === 'delivered' ? 'DELIVERED' : outcome.kind === 'retry' ? 'PENDING' : 'FAILED');
      column.attempts.push(outcome.kind === 'failed' && !outcome.countsAsAttempt ? claimed.attempts : claimed.attempts + 1);
      column.code.push(outcome.statusCode);
      column.error.push(outcome.kind === 'delivered' ? null : outcome.error);
      column.next.push(outcome.kind === 'retry' ? outcome.nextAttemptAt.toISOString() : null);
      column.delivered.push(outcome.kind === 'delivered' ? outcome.at.toISOString() : null);
      column.previous.push(claimed.attempts);
      column.lease.push(claimed.nextAttemptAt.toISOString());
    }
    // Time stamps travel as ISO strings: a zone in a literal cast to timestamp (without time zone,
    // Prisma's DateTime) is ignored, which keeps the UTC wall time Prisma itself writes.
    const rows = await this.prisma.$queryRaw<Array<{ id: string }>>`
      UPDATE "WebhookDelivery" AS d SET
        "status" = v."status"::"DeliveryStatus",
        "attempts" = v."attempts",
        "lastStatusCode" = v."code",
        "lastError" = v."error",
        "nextAttemptAt" = COALESCE(v."next", d."nextAttemptAt"),
        "deliveredAt" = COALESCE(v."delivered", d."deliveredAt")
      FROM unnest(
        ${column.id}::uuid[], ${column.status}::text[], ${column.attempts}::int[], ${column.code}::int[], ${column.error}::text[],
        ${column.next}::timestamp(3)[], ${column.delivered}::timestamp(3)[], ${column.previous}::int[], ${column.lease}::timestamp(3)[]
      ) AS v("id", "status", "attempts", "code", "error", "next", "delivered", "previous", "lease")
      WHERE d."id" = v."id" AND d."status" = 'PENDING' AND d."attempts" = v."previous" AND d."nextAttemptAt" = v."lease"
      RETURNING d."id"`;
    return new Set(rows.map((r) => r.id));
  }

  /** Puts a delivery back on the schedule from its start, due now. Null when it does not exist. */
  async requeue(id: string, now: Date): Promise<DeliveryRecord | null> {
    const { count } = await this.prisma.webhookDelivery.updateMany({
      where: { id },
      data: { status: 'PENDING', attempts: 0, nextAttemptAt: now, deliveredAt: null },
    });
    return count ? this.find(id) : null;
  }

  async find(id: string): Promise<DeliveryRecord | null> {
    const row = await this.prisma.webhookDelivery.findUnique({ where: { id } });
    return row ? toRecord(row) : null;
  }

  /** Newest first; `before` is the seq cursor of the previous page's last item. */
  async list(filter: DeliveryFilter, before: bigint | null, limit: number): Promise<DeliveryRecord[]> {
    const rows = await this.prisma.webhookDelivery.findMany({
      where: {
        ...(filter.status ? { status: filter.status } : {}),
        ...(filter.sessionId ? { sessionId: filter.sessionId } : {}),
        ...(filter.webhookId ? { webhookId: filter.webhookId } : {}),
        ...(before !== null ? { seq: { lt: before } } : {}),
      },
      orderBy: { seq: 'desc' },
      take: limit,
    });
    return rows.map(toRecord);
  }

  /**
   * Retries (attempts > 0) still PENDING and due before `dueBefore`, oldest
   * due first: their triggers may be lost. First attempts are the
   * dispatchers' (claimFirstAttempts), which look for them on a timer.
   */
  async findDueRetries(dueBefore: Date, limit: number): Promise<Array<Pick<DeliveryRecord, 'id' | 'attempts'>>> {
    return this.prisma.webhookDelivery.findMany({
      where: { status: 'PENDING', attempts: { gt: 0 }, nextAttemptAt: { lte: dueBefore } },
      orderBy: { nextAttemptAt: 'asc' },
      take: limit,
      select: { id: true, attempts: true },
    });
  }

  /** PENDING deliveries of a disabled endpoint end FAILED (listed; redelivered once it is enabled again). */
  async failPendingOf(webhookId: string, error: string): Promise<number> {
    const { count } = await this.prisma.webhookDelivery.updateMany({ where: { webhookId, status: 'PENDING' }, data: { status: 'FAILED', lastError: error } });
    return count;
  }

  /** Cluster-wide backlog: PENDING deliveries and the creation time of the oldest one. */
  async pendingSummary(): Promise<{ pending: number; oldestCreatedAt: Date | null }> {
    const [row] = await this.prisma.$queryRaw<Array<{ pending: bigint; oldest: Date | null }>>`
      SELECT count(*) AS pending, min("createdAt") AS oldest FROM "WebhookDelivery" WHERE "status" = 'PENDING'`;
    return { pending: Number(row?.pending ?? 0), oldestCreatedAt: row?.oldest ?? null };
  }
}

type ClaimedRow = WebhookDelivery & { url: string; webhookStatus: WebhookRecord['status']; secret: string; previousSecret: string | null; previousSecretExpiresAt: Date | null };

function toClaimed(row: ClaimedRow): ClaimedDelivery {
  return {
    ...toRecord({ ...row, status: String(row.status) as DeliveryStatus }),
    webhook: { id: row.webhookId, url: row.url, status: row.webhookStatus, secret: row.secret, previousSecret: row.previousSecret, previousSecretExpiresAt: row.previousSecretExpiresAt },
  };
}

function toRecord(row: WebhookDelivery): DeliveryRecord {
  return {
    id: row.id,
    seq: row.seq,
    webhookId: row.webhookId,
    eventId: row.eventId,
    sessionId: row.sessionId,
    eventType: row.eventType,
    payload: (row.payload as Record<string, unknown> | null) ?? null,
    status: row.status,
    attempts: row.attempts,
    nextAttemptAt: row.nextAttemptAt,
    lastStatusCode: row.lastStatusCode,
    lastError: row.lastError,
    createdAt: row.createdAt,
    deliveredAt: row.deliveredAt,
  };
}
