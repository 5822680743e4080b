import { types as pgTypes, type CustomTypesConfig } from 'pg';
import type { EventEnvelope } from '../../../infra/events/event-log';
import type { AttemptOutcome, ClaimedDelivery, DeliveryRecord, DeliveryStatus } from './delivery.repository';

/**
 * Pure helpers of the delivery hot path, which talks to PostgreSQL through
 * its own pg pool (see DeliveryRepository): reading its rows as Prisma would
 * and building the batched outcome write.
 */

const TIMESTAMP_OID = 1114; // timestamp without time zone (Prisma's DateTime)
const INT8_OID = 20; // bigint (WebhookDelivery.seq)

/**
 * A `timestamp` (without time zone) as Prisma reads it: the wall time is UTC.
 * pg's own parser reads it in the process's local zone, which would shift
 * every lease by the zone's offset on a machine not set to UTC.
 */
export function parseUtcTimestamp(text: string): Date {
  return new Date(`${text.replace(' ', 'T')}Z`);
}

/** Type parsers of the delivery pool: timestamps as UTC (like Prisma), bigint as BigInt (like Prisma's BigInt). */
export const deliveryPgTypes: CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    if (format !== 'binary' && oid === TIMESTAMP_OID) return parseUtcTimestamp;
    if (format !== 'binary' && oid === INT8_OID) return (text: string) => BigInt(text);
    return format === 'binary' ? pgTypes.getTypeParser(oid, 'binary') : pgTypes.getTypeParser(oid, 'text');
  }) as CustomTypesConfig['getTypeParser'],
};

/** A row of the claim statements: the delivery, its endpoint, and its event when it has one. */
export interface ClaimedRow {
  id: string;
  seq: bigint;
  webhookId: string;
  eventId: string | null;
  sessionId: string | null;
  eventType: string;
  payload: Record<string, unknown> | null;
  status: string;
  attempts: number;
  nextAttemptAt: Date;
  lastStatusCode: number | null;
  lastError: string | null;
  createdAt: Date;
  deliveredAt: Date | null;
  url: string;
  webhookStatus: 'ACTIVE' | 'DISABLED';
  secret: string;
  previousSecret: string | null;
  previousSecretExpiresAt: Date | null;
  /** The event's columns (null for a test ping, or an event pruned meanwhile). */
  evtId: string | null;
  evtSessionName: string | null;
  evtSequence: number | null;
  evtType: string | null;
  evtData: Record<string, unknown> | null;
  evtCreatedAt: Date | null;
}

/** The claimed delivery, and the envelope of its event (null when it has none: a ping carries its own). */
export function toClaimedDelivery(row: ClaimedRow): { delivery: ClaimedDelivery; envelope: EventEnvelope | null } {
  const delivery: ClaimedDelivery = {
    id: row.id,
    seq: row.seq,
    webhookId: row.webhookId,
    eventId: row.eventId,
    sessionId: row.sessionId,
    eventType: row.eventType,
    payload: row.payload ?? null,
    status: row.status as DeliveryStatus,
    attempts: row.attempts,
    nextAttemptAt: row.nextAttemptAt,
    lastStatusCode: row.lastStatusCode,
    lastError: row.lastError,
    createdAt: row.createdAt,
    deliveredAt: row.deliveredAt,
    webhook: {
      id: row.webhookId,
      url: row.url,
      status: row.webhookStatus,
      secret: row.secret,
      previousSecret: row.previousSecret,
      previousSecretExpiresAt: row.previousSecretExpiresAt,
    },
  };
  // The same envelope EventLog builds (infra/events' toEnvelope), from the columns the claim joined.
  const envelope: EventEnvelope | null =
    row.evtId !== null
      ? {
          id: row.evtId,
          event: row.evtType!,
          session: row.evtSessionName!,
          sequence: row.evtSequence!,
          timestamp: row.evtCreatedAt!.toISOString(),
          data: row.evtData ?? {},
        }
      : null;
  return { delivery, envelope };
}

/** The parameters of the batched outcome write, one array per column (unnest on the server side). */
export interface OutcomeColumns {
  id: string[];
  status: DeliveryStatus[];
  attempts: number[];
  code: Array<number | null>;
  error: Array<string | null>;
  next: Array<string | null>;
  delivered: Array<string | null>;
  previous: number[];
  lease: string[];
}

/**
 * Outcomes as columns. Time stamps travel as ISO strings: a zone in a literal
 * cast to timestamp (without time zone, Prisma's DateTime) is ignored, which
 * keeps the UTC wall time Prisma itself writes.
 */
export function outcomeColumns(items: Array<{ claimed: Pick<DeliveryRecord, 'id' | 'attempts' | 'nextAttemptAt'>; outcome: AttemptOutcome }>): OutcomeColumns {
  const column: OutcomeColumns = { id: [], status: [], attempts: [], code: [], error: [], next: [], delivered: [], previous: [], lease: [] };
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
  return column;
}
