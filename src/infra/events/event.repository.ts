import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type { Prisma } from '../../generated/prisma/client';
import { PrismaService } from '../prisma/prisma.service';
import { dbClient, type DbTransaction } from '../prisma/transaction';

/** One stored event, as every reader gets it (the envelope webhooks carry). */
export interface EventEnvelope {
  id: string;
  event: string;
  session: string;
  sequence: number;
  timestamp: string;
  data: Record<string, unknown>;
}

export interface NewEvent {
  sessionId: string;
  sessionName: string;
  type: string;
  data: Record<string, unknown>;
}

/** The Event and EventCounter tables (only infra/events touches them). */
@Injectable()
export class EventRepository {
  constructor(private readonly prisma: PrismaService) {}

  /**
   * Appends `events` (any sessions, any number) inside `tx` in ONE statement;
   * the envelopes come back in input order. Each session's counter is raised
   * once by its number of events and its events take the numbers below the
   * new value, consecutive in input order. The counter upserts lock the
   * sessions' counter rows in session-id order until the transaction ends, so
   * concurrent appends for one session (any replica) queue on it, two batches
   * of several sessions cannot deadlock each other, and a rollback undoes the
   * increments with the events: no gap is left.
   */
  async appendMany(tx: DbTransaction, events: NewEvent[]): Promise<EventEnvelope[]> {
    if (!events.length) return [];
    const createdAt = new Date();
    const plan = numberingPlan(events);
    const ids = events.map(() => `evt_${randomUUID().replace(/-/g, '')}`);
    const rows = await dbClient(this.prisma, tx).$queryRaw<Array<{ id: string; sequence: number }>>`
      WITH counter AS (
        INSERT INTO "EventCounter" ("sessionId", "lastSequence")
        SELECT c."sessionId", c."n" FROM unnest(${plan.sessionIds}::uuid[], ${plan.counts}::int[]) AS c("sessionId", "n")
        ORDER BY c."sessionId"
        ON CONFLICT ("sessionId") DO UPDATE SET "lastSequence" = "EventCounter"."lastSequence" + EXCLUDED."lastSequence"
        RETURNING "sessionId", "lastSequence"
      )
      INSERT INTO "Event" ("id", "sessionId", "sessionName", "sequence", "type", "data", "createdAt")
      SELECT e."id", e."sessionId", e."sessionName", counter."lastSequence" - e."below", e."type", e."data"::jsonb, ${createdAt}
      FROM unnest(${ids}::text[], ${events.map((e) => e.sessionId)}::uuid[], ${events.map((e) => e.sessionName)}::text[],
                  ${plan.below}::int[], ${events.map((e) => e.type)}::text[], ${events.map((e) => JSON.stringify(e.data))}::text[])
             AS e("id", "sessionId", "sessionName", "below", "type", "data")
      JOIN counter ON counter."sessionId" = e."sessionId"
      RETURNING "id", "sequence"`;
    const sequences = new Map(rows.map((r) => [r.id, r.sequence]));
    return events.map((event, i) =>
      toEnvelope({ id: ids[i]!, type: event.type, sessionName: event.sessionName, sequence: sequences.get(ids[i]!)!, createdAt, data: event.data as Prisma.JsonValue }),
    );
  }

  /** Events of a session with a sequence above `after`, in order, at most `limit`. */
  async listAfter(sessionId: string, after: number, limit: number): Promise<EventEnvelope[]> {
    const rows = await this.prisma.event.findMany({ where: { sessionId, sequence: { gt: after } }, orderBy: { sequence: 'asc' }, take: limit });
    return rows.map(toEnvelope);
  }

  /** The sequence of the session's last committed event (0 when it has none): where a live stream starts. */
  async lastSequence(sessionId: string): Promise<number> {
    const counter = await this.prisma.eventCounter.findUnique({ where: { sessionId }, select: { lastSequence: true } });
    return counter?.lastSequence ?? 0;
  }

  async findByIds(ids: string[]): Promise<Map<string, EventEnvelope>> {
    if (!ids.length) return new Map();
    const rows = await this.prisma.event.findMany({ where: { id: { in: ids } } });
    return new Map(rows.map((row) => [row.id, toEnvelope(row)]));
  }

  /**
   * The sessions whose last committed sequence is above their cursor (a
   * session missing from `cursors` counts from 0), with that sequence: which
   * sessions an all-sessions stream must read, in one scan of the counters
   * (one row per session). With no cursors: every session's position.
   */
  async countersAbove(cursors: ReadonlyMap<string, number>): Promise<Map<string, number>> {
    const rows = await this.prisma.$queryRaw<Array<{ sessionId: string; lastSequence: number }>>`
      SELECT c."sessionId"::text AS "sessionId", c."lastSequence"
      FROM "EventCounter" c
      LEFT JOIN unnest(${[...cursors.keys()]}::uuid[], ${[...cursors.values()]}::int[]) AS k("sessionId", "after") ON k."sessionId" = c."sessionId"
      WHERE c."lastSequence" > COALESCE(k."after", 0)`;
    return new Map(rows.map((row) => [row.sessionId, row.lastSequence]));
  }
}

/**
 * How a batch is numbered: each session's number of events (sessions in id
 * order: the order their counters are locked in), and for each event how far
 * below the session's new last sequence it lands (the last event of a session
 * gets 0), so a session's events are consecutive in input order.
 */
function numberingPlan(events: NewEvent[]): { sessionIds: string[]; counts: number[]; below: number[] } {
  const counts = new Map<string, number>();
  for (const e of events) counts.set(e.sessionId, (counts.get(e.sessionId) ?? 0) + 1);
  const seen = new Map<string, number>();
  const below = events.map((e) => {
    const index = (seen.get(e.sessionId) ?? 0) + 1;
    seen.set(e.sessionId, index);
    return counts.get(e.sessionId)! - index;
  });
  const sessionIds = [...counts.keys()].sort();
  return { sessionIds, counts: sessionIds.map((id) => counts.get(id)!), below };
}

function toEnvelope(row: { id: string; type: string; sessionName: string; sequence: number; createdAt: Date; data: Prisma.JsonValue }): EventEnvelope {
  return {
    id: row.id,
    event: row.type,
    session: row.sessionName,
    sequence: row.sequence,
    timestamp: row.createdAt.toISOString(),
    data: (row.data ?? {}) as Record<string, unknown>,
  };
}
