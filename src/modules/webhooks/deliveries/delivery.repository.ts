import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { Pool } from 'pg';
import { APP_CONFIG, type AppConfig } from '../../../config';
import { Prisma, type WebhookDelivery } from '../../../generated/prisma/client';
import type { EventEnvelope } from '../../../infra/events/event-log';
import { BackgroundFailures } from '../../../infra/metrics/background-failures';
import { PG_CONNECTION_OPTIONS } from '../../../infra/prisma/pg-connection-options';
import { PrismaService } from '../../../infra/prisma/prisma.service';
import { dbClient, type DbTransaction } from '../../../infra/prisma/transaction';
import type { WebhookRecord } from '../webhook.repository';
import { deliveryPgTypes, outcomeColumns, toClaimedDelivery, type ClaimedRow } from './delivery-rows';

/**
 * Connections of the delivery hot path's own pool. Its statements are serial
 * per worker (one dispatcher claim, one outcome write at a time), plus the
 * claims of retry triggers: a few connections carry them.
 */
const HOT_PATH_POOL_SIZE = 4;

/** What the claim statements return: the delivery, its endpoint, and its event (the envelope's columns). */
const CLAIMED_COLUMNS = `c.*, w."url", w."status"::text AS "webhookStatus", w."secret", w."previousSecret", w."previousSecretExpiresAt",
        e."id" AS "evtId", e."sessionName" AS "evtSessionName", e."sequence" AS "evtSequence", e."type" AS "evtType",
        e."data" AS "evtData", e."createdAt" AS "evtCreatedAt"`;

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

/**
 * The WebhookDelivery table (only this file of the webhooks module touches it).
 *
 * The hot path of deliveries (claims and outcome writes) runs on a small pg
 * pool of its own, raw SQL without Prisma. Why: on Prisma's shared pool
 * (10 connections) these statements queued behind the interactive
 * transactions of the events being appended (each holds a connection for
 * its whole length): in bench:webhooks at 200 events/s, commit to claimed
 * reached seconds (p99 2.5 s). The claims also read the event's envelope in
 * the same statement (one round trip per batch instead of two; the envelope
 * is built as infra/events builds it). Together with the dispatcher's cached
 * pause check, a drain of 4,000 deliveries on a loaded 2-core machine went
 * from ~0.9-1.1 to ~0.65-0.75 ms of this process's CPU per delivery and
 * from ~500-700 to ~850-900 deliveries/s (same script, old and new code
 * alternated).
 */
@Injectable()
export class DeliveryRepository implements OnApplicationShutdown {
  private readonly pool: Pool;
  private ended = false;

  constructor(
    private readonly prisma: PrismaService,
    @Inject(APP_CONFIG) config: AppConfig,
    background: BackgroundFailures,
  ) {
    // The bounds every pool of the process has (PG_CONNECTION_OPTIONS): getting a connection, a server that stopped answering.
    this.pool = new Pool({
      connectionString: config.DATABASE_URL,
      max: HOT_PATH_POOL_SIZE,
      ...PG_CONNECTION_OPTIONS,
      application_name: 'zaphub-deliveries',
      types: deliveryPgTypes,
    });
    // An idle connection the server dropped (restart, failover): pg emits it here, and an
    // unhandled 'error' event would end the process. The pool replaces the connection.
    this.pool.on('error', (error) => background.record('webhook delivery pool', error));
  }

  /** After beforeApplicationShutdown: the dispatcher and the trigger workers have ended their attempts and writes. */
  async onApplicationShutdown(): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    await this.pool.end();
  }

  /**
   * Fan-out of the events of one append, inside their transaction, in ONE
   * statement: one PENDING delivery per event and ACTIVE endpoint that
   * subscribes to it (the session's own and the global ones, filter `*` or the
   * event's type). Rows are inserted in the events' order (for each endpoint:
   * its events in sequence order, as the dispatchers claim by `seq`), then by
   * endpoint. The unique (event, webhook) pair makes a repeat insert nothing.
   * Returns the new ids.
   */
  async fanOut(tx: DbTransaction, events: Array<{ id: string; sessionId: string; type: string; createdAt: Date }>): Promise<string[]> {
    if (!events.length) return [];
    const rows = await dbClient(this.prisma, tx).$queryRaw<Array<{ id: string }>>`
      INSERT INTO "WebhookDelivery" ("id", "webhookId", "eventId", "sessionId", "eventType", "nextAttemptAt", "createdAt")
      SELECT gen_random_uuid(), w."id", e."id", e."sessionId", e."type", e."createdAt", e."createdAt"
      FROM unnest(${events.map((e) => e.id)}::text[], ${events.map((e) => e.sessionId)}::uuid[], ${events.map((e) => e.type)}::text[],
                  ${events.map((e) => e.createdAt)}::timestamp(3)[]) WITH ORDINALITY AS e("id", "sessionId", "type", "createdAt", "ord")
      JOIN "Webhook" w
        ON w."status" = 'ACTIVE'
       AND (w."sessionId" = e."sessionId" OR w."sessionId" IS NULL)
       AND (w."events" @> ARRAY['*'] OR w."events" @> ARRAY[e."type"])
      ORDER BY e."ord", w."createdAt", w."id"
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
   * row as claimed with its endpoint and its event's envelope, so a second
   * trigger of the same delivery finds it not due and does nothing, and a
   * worker that dies mid-attempt leaves a row that becomes due again by itself.
   * Null when not due, not PENDING or gone.
   */
  async claim(id: string, now: Date, leaseUntil: Date): Promise<{ delivery: ClaimedDelivery; envelope: EventEnvelope | null } | null> {
    const { rows } = await this.pool.query<ClaimedRow>(
      `WITH claimed AS (
        UPDATE "WebhookDelivery" SET "nextAttemptAt" = $3::timestamp(3)
        WHERE "id" = $1::uuid AND "status" = 'PENDING' AND "nextAttemptAt" <= $2::timestamp(3)
        RETURNING *
      )
      SELECT ${CLAIMED_COLUMNS}
      FROM claimed c JOIN "Webhook" w ON w."id" = c."webhookId" LEFT JOIN "Event" e ON e."id" = c."eventId"`,
      [id, now.toISOString(), leaseUntil.toISOString()],
    );
    return rows[0] ? toClaimedDelivery(rows[0]) : null;
  }

  /**
   * The dispatcher's claim: up to `limit` due first attempts (attempts = 0:
   * new deliveries, redelivered ones, and first attempts whose worker died),
   * lowest `seq` first, so deliveries leave in the order their events were
   * appended, each with its endpoint and its event's envelope. One statement;
   * `SKIP LOCKED` lets replicas claim side by side without waiting on each
   * other or taking the same row. Retries are not taken here: their delayed
   * triggers bring them (see the reconciler).
   */
  async claimFirstAttempts(limit: number, now: Date, leaseUntil: Date): Promise<Array<{ delivery: ClaimedDelivery; envelope: EventEnvelope | null }>> {
    const { rows } = await this.pool.query<ClaimedRow>(
      `WITH due AS (
        SELECT "id" FROM "WebhookDelivery"
        WHERE "status" = 'PENDING' AND "attempts" = 0 AND "nextAttemptAt" <= $2::timestamp(3)
        ORDER BY "seq"
        LIMIT $1
        FOR UPDATE SKIP LOCKED
      ), claimed AS (
        UPDATE "WebhookDelivery" d SET "nextAttemptAt" = $3::timestamp(3)
        FROM due WHERE d."id" = due."id"
        RETURNING d.*
      )
      SELECT ${CLAIMED_COLUMNS}
      FROM claimed c JOIN "Webhook" w ON w."id" = c."webhookId" LEFT JOIN "Event" e ON e."id" = c."eventId"
      ORDER BY c."seq"`,
      [limit, now.toISOString(), leaseUntil.toISOString()],
    );
    return rows.map(toClaimedDelivery);
  }

  /**
   * Records the outcomes of several attempts in one statement, each only if
   * its row is still the claimed one (PENDING, same attempts, same lease): a
   * redeliver or a newer claim in between wins. Returns the ids written.
   */
  async recordMany(items: Array<{ claimed: Pick<DeliveryRecord, 'id' | 'attempts' | 'nextAttemptAt'>; outcome: AttemptOutcome }>): Promise<Set<string>> {
    if (!items.length) return new Set();
    const c = outcomeColumns(items);
    const { rows } = await this.pool.query<{ id: string }>(
      `UPDATE "WebhookDelivery" AS d SET
        "status" = v."status"::"DeliveryStatus",
        "attempts" = v."attempts",
        "lastStatusCode" = v."code",
        "lastError" = v."error",
        "nextAttemptAt" = COALESCE(v."next", d."nextAttemptAt"),
        "deliveredAt" = COALESCE(v."delivered", d."deliveredAt")
      FROM unnest(
        $1::uuid[], $2::text[], $3::int[], $4::int[], $5::text[], $6::timestamp(3)[], $7::timestamp(3)[], $8::int[], $9::timestamp(3)[]
      ) AS v("id", "status", "attempts", "code", "error", "next", "delivered", "previous", "lease")
      WHERE d."id" = v."id" AND d."status" = 'PENDING' AND d."attempts" = v."previous" AND d."nextAttemptAt" = v."lease"
      RETURNING d."id"`,
      [c.id, c.status, c.attempts, c.code, c.error, c.next, c.delivered, c.previous, c.lease],
    );
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
