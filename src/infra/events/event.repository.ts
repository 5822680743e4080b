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
   * Appends inside `tx`. The counter upsert locks the session's counter row
   * until the transaction ends, so concurrent appends for one session (any
   * replica) queue on it and each takes the next number; a rollback undoes the
   * increment with the event, so no gap is left.
   */
  async append(tx: DbTransaction, event: NewEvent): Promise<EventEnvelope> {
    const id = `evt_${randomUUID().replace(/-/g, '')}`;
    const createdAt = new Date();
    // One statement (the hot path of every event): the counter's next number and the row.
    const [row] = await dbClient(this.prisma, tx).$queryRaw<Array<{ sequence: number }>>`
      WITH counter AS (
        INSERT INTO "EventCounter" ("sessionId", "lastSequence") VALUES (${event.sessionId}::uuid, 1)
        ON CONFLICT ("sessionId") DO UPDATE SET "lastSequence" = "EventCounter"."lastSequence" + 1
        RETURNING "lastSequence"
      )
      INSERT INTO "Event" ("id", "sessionId", "sessionName", "sequence", "type", "data", "createdAt")
      SELECT ${id}, ${event.sessionId}::uuid, ${event.sessionName}, counter."lastSequence", ${event.type}, ${JSON.stringify(event.data)}::jsonb, ${createdAt}
      FROM counter
      RETURNING "sequence"`;
    return toEnvelope({ id, type: event.type, sessionName: event.sessionName, sequence: row!.sequence, createdAt, data: event.data as Prisma.JsonValue });
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
