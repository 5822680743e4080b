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
    const rows = await this.prisma.$queryRaw<Array<WebhookDelivery & { url: string; webhookStatus: WebhookRecord['status']; secret: string; previousSecret: string | null; previousSecretExpiresAt: Date | null }>>`
      WITH claimed AS (
        UPDATE "WebhookDelivery" SET "nextAttemptAt" = ${leaseUntil}
        WHERE "id" = ${id}::uuid AND "status" = 'PENDING' AND "nextAttemptAt" <= ${now}
        RETURNING *
      )
      SELECT c.*, w."url", w."status"::text AS "webhookStatus", w."secret", w."previousSecret", w."previousSecretExpiresAt"
      FROM claimed c JOIN "Webhook" w ON w."id" = c."webhookId"`;
    const row = rows[0];
    if (!row) return null;
    return {
      ...toRecord({ ...row, status: String(row.status) as DeliveryStatus }),
      webhook: { id: row.webhookId, url: row.url, status: row.webhookStatus, secret: row.secret, previousSecret: row.previousSecret, previousSecretExpiresAt: row.previousSecretExpiresAt },
    };
  }

  /**
   * Records an attempt's outcome, only if the row is still the claimed one
   * (PENDING, same attempts, same lease): a redeliver or a newer claim in
   * between wins. True when written.
   */
  async record(claimed: Pick<DeliveryRecord, 'id' | 'attempts' | 'nextAttemptAt'>, outcome: AttemptOutcome): Promise<boolean> {
    const attempts = outcome.kind === 'failed' && !outcome.countsAsAttempt ? claimed.attempts : claimed.attempts + 1;
    const data: Prisma.WebhookDeliveryUpdateManyMutationInput =
      outcome.kind === 'delivered'
        ? { status: 'DELIVERED', attempts, lastStatusCode: outcome.statusCode, lastError: null, deliveredAt: outcome.at }
        : outcome.kind === 'retry'
          ? { attempts, lastStatusCode: outcome.statusCode, lastError: outcome.error, nextAttemptAt: outcome.nextAttemptAt }
          : { status: 'FAILED', attempts, lastStatusCode: outcome.statusCode, lastError: outcome.error };
    const { count } = await this.prisma.webhookDelivery.updateMany({
      where: { id: claimed.id, status: 'PENDING', attempts: claimed.attempts, nextAttemptAt: claimed.nextAttemptAt },
      data,
    });
    return count > 0;
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

  /** PENDING deliveries due before `dueBefore`, oldest due first: their triggers may be lost. */
  async findDue(dueBefore: Date, limit: number): Promise<Array<Pick<DeliveryRecord, 'id' | 'attempts'>>> {
    return this.prisma.webhookDelivery.findMany({
      where: { status: 'PENDING', nextAttemptAt: { lte: dueBefore } },
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
