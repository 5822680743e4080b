import { Injectable } from '@nestjs/common';
import { Prisma } from '../../../generated/prisma/client';
import { PrismaService } from '../../../infra/prisma/prisma.service';
import { dbClient, type DbTransaction } from '../../../infra/prisma/transaction';
import { RAW_MESSAGE_COLUMNS, rawRecord, toRecord, type MessageRecord, type RawMessageRow } from '../message.repository';

const WITH_SESSION = { session: { select: { name: true } } } as const;

/** A message WhatsApp delivered (a contact's, or one the account's phone sent), as recorded. */
export interface NewRecordedMessage {
  sessionId: string;
  chatId: string;
  direction: 'INBOUND' | 'OUTBOUND';
  type: string;
  waMessageId: string;
  text: string | null;
  /** What else is known of it (sender, push name, the engine's payload for a later media download). */
  content: Record<string, unknown>;
  /** When WhatsApp says it was sent (the `sentAt` of a message the phone sent). */
  at: Date;
}

/** A Message row as `INSERT … RETURNING` gives it (enums and uuids as text). */
interface InsertedRow {
  id: string;
  seq: bigint | number | string;
  sessionId: string;
  waMessageId: string;
  [column: string]: unknown;
}

/** A receipt to apply: the session's outbound message `waMessageId` reached `status` at `at`. */
export interface ReceiptChange {
  sessionId: string;
  waMessageId: string;
  status: 'DELIVERED' | 'READ';
  at: Date;
}

/** A message a batch of receipts moved: its record now, and its status before (to tell what it went through). */
export interface MovedMessage {
  record: MessageRecord;
  previous: 'SENDING' | 'SENT' | 'DELIVERED' | 'READ' | string;
}

/** Receipt statuses in the order a message goes through them: a receipt never moves it back. */
const RANK_SQL = Prisma.sql`CASE "status" WHEN 'SENDING' THEN 1 WHEN 'SENT' THEN 1 WHEN 'DELIVERED' THEN 2 WHEN 'READ' THEN 3 ELSE 0 END`;
/** RANK_SQL of the Message aliased `m` (statements that join other tables with a status). */
const RANK_OF_M = Prisma.sql`CASE m."status" WHEN 'SENDING' THEN 1 WHEN 'SENT' THEN 1 WHEN 'DELIVERED' THEN 2 WHEN 'READ' THEN 3 ELSE 0 END`;

/** The Message rows of what WhatsApp delivers: received messages, the phone's own sends, receipts. */
@Injectable()
export class InboundRepository {
  constructor(private readonly prisma: PrismaService) {}

  /**
   * Records several delivered messages in ONE statement (a burst from many sessions): the
   * result, in the order of `rows`, is each one's record, or null when the session already had
   * that WhatsApp id (or an earlier row of the same batch had it). The records are built from
   * what the insert returns (no second read); `sessionName` comes with each row.
   */
  async insertMany(tx: DbTransaction, rows: Array<NewRecordedMessage & { sessionName: string }>): Promise<Array<MessageRecord | null>> {
    if (!rows.length) return [];
    const db = dbClient(this.prisma, tx);
    const now = new Date();
    const values = rows.map(
      (m) => Prisma.sql`(gen_random_uuid(), ${m.sessionId}::uuid, ${m.chatId}, ${m.direction}::"MessageDirection", ${m.type},
        ${m.direction === 'INBOUND' ? 'RECEIVED' : 'SENT'}::"MessageStatus", ${m.text}, ${JSON.stringify(m.content)}::jsonb, ${m.waMessageId}, 0, ${now}, ${now},
        ${m.direction === 'OUTBOUND' ? m.at : null}::timestamp)`,
    );
    const inserted = await db.$queryRaw<Array<InsertedRow>>`
      INSERT INTO "Message" ("id", "sessionId", "chatId", "direction", "type", "status", "text", "content", "waMessageId", "attempts", "createdAt", "updatedAt", "sentAt")
      VALUES ${Prisma.join(values)}
      ON CONFLICT ("sessionId", "waMessageId") DO NOTHING
      RETURNING "id"::text AS "id", "seq", "sessionId"::text AS "sessionId", "chatId", "direction"::text AS "direction", "type", "status"::text AS "status",
                "text", "content", "replyToId"::text AS "replyToId", "attempts", "error", "waMessageId", "createdAt", "updatedAt", "sentAt",
                "deliveredAt", "readAt", "editedAt", "revokedAt", "reactions"`;
    if (!inserted.length) return rows.map(() => null);
    const names = new Map(rows.map((m) => [m.sessionId, m.sessionName]));
    const byKey = new Map<string, MessageRecord | null>(
      inserted.map((r) => [`${r.sessionId}/${r.waMessageId}`, toRecord({ ...r, seq: BigInt(r.seq), session: { name: names.get(r.sessionId) ?? '' } } as unknown as Parameters<typeof toRecord>[0])]),
    );
    // The first row of a (session, id) pair gets the record; a duplicate later in the batch gets null.
    return rows.map((m) => {
      const k = `${m.sessionId}/${m.waMessageId}`;
      const record = byKey.get(k) ?? null;
      byKey.delete(k);
      return record;
    });
  }

  /**
   * Moves an outbound message forward to DELIVERED or READ (a READ also
   * stamps a missing deliveredAt); null when the id is not one of the
   * session's outbound messages or the message is already there or beyond.
   * A SENDING message moves too: the receipt can be recorded before the
   * send's own commit, which then keeps the later status.
   */
  /**
   * Records `from`'s reaction on the session's message `waMessageId` of `chatId` (either
   * direction): replaces that reactor's earlier one, removes it when `emoji` is empty. Null
   * (nothing changed, no event) for an unknown target, the same emoji again (a re-delivery), a
   * removal of nothing, or a reaction older than the one stored.
   */
  async applyReaction(tx: DbTransaction, r: { sessionId: string; chatId: string; targetWaMessageId: string; from: string | null; emoji: string; at: Date }): Promise<MessageRecord | null> {
    const db = dbClient(this.prisma, tx);
    const who = r.from ?? '';
    const entry = r.emoji === '' ? Prisma.sql`'[]'::jsonb` : Prisma.sql`jsonb_build_array(jsonb_build_object('from', ${r.from}::text, 'emoji', ${r.emoji}::text, 'at', ${r.at.toISOString()}::text))`;
    const rows = await db.$queryRaw<Array<{ id: string }>>`
      UPDATE "Message" m SET
        "reactions" = (SELECT COALESCE(jsonb_agg(e.r ORDER BY e.n), '[]'::jsonb)
                         FROM jsonb_array_elements(COALESCE(m."reactions", '[]'::jsonb)) WITH ORDINALITY AS e(r, n)
                        WHERE COALESCE(e.r->>'from', '') <> ${who}) || ${entry},
        "updatedAt" = ${new Date()}
      WHERE m."sessionId" = ${r.sessionId}::uuid AND m."waMessageId" = ${r.targetWaMessageId} AND m."chatId" = ${r.chatId}
        AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements(COALESCE(m."reactions", '[]'::jsonb)) x
                         WHERE COALESCE(x->>'from', '') = ${who} AND ((x->>'at')::timestamptz > ${r.at} OR x->>'emoji' = ${r.emoji}))
        AND (${r.emoji} <> '' OR EXISTS (SELECT 1 FROM jsonb_array_elements(COALESCE(m."reactions", '[]'::jsonb)) x WHERE COALESCE(x->>'from', '') = ${who}))
      RETURNING m."id"::text AS "id"`;
    return this.reread(tx, rows[0]?.id);
  }

  /**
   * An edit by the author: the new text and `editedAt` on the session's message of that chat and
   * direction (a contact edits what it sent: inbound; the phone what the account sent: outbound),
   * and of that author when the row knows it (a group member edits only its own). Null for an
   * unknown or revoked target and for an edit not newer than the last one applied (a re-delivery).
   */
  async applyEdit(
    tx: DbTransaction,
    e: { sessionId: string; chatId: string; targetWaMessageId: string; direction: 'INBOUND' | 'OUTBOUND'; senderJid: string | null; text: string | null; at: Date },
  ): Promise<MessageRecord | null> {
    const db = dbClient(this.prisma, tx);
    const rows = await db.$queryRaw<Array<{ id: string }>>`
      UPDATE "Message" SET "text" = ${e.text}, "editedAt" = ${e.at}, "updatedAt" = ${new Date()}
      WHERE "sessionId" = ${e.sessionId}::uuid AND "waMessageId" = ${e.targetWaMessageId} AND "chatId" = ${e.chatId}
        AND "direction" = ${e.direction}::"MessageDirection" AND "revokedAt" IS NULL
        AND ("editedAt" IS NULL OR "editedAt" < ${e.at})
        AND (${e.senderJid}::text IS NULL OR COALESCE("content"->>'senderJid', ${e.senderJid}::text) = ${e.senderJid}::text)
      RETURNING "id"::text AS "id"`;
    return this.reread(tx, rows[0]?.id);
  }

  /**
   * A delete for everyone: the session's message of that chat (either direction: a group admin
   * deletes others' messages too) marked revoked; its text and media stay. Null for an unknown
   * target or one already revoked (a re-delivery).
   */
  async applyRevoke(tx: DbTransaction, r: { sessionId: string; chatId: string; targetWaMessageId: string; at: Date }): Promise<MessageRecord | null> {
    const db = dbClient(this.prisma, tx);
    const rows = await db.$queryRaw<Array<{ id: string }>>`
      UPDATE "Message" SET "revokedAt" = ${r.at}, "updatedAt" = ${new Date()}
      WHERE "sessionId" = ${r.sessionId}::uuid AND "waMessageId" = ${r.targetWaMessageId} AND "chatId" = ${r.chatId} AND "revokedAt" IS NULL
      RETURNING "id"::text AS "id"`;
    return this.reread(tx, rows[0]?.id);
  }

  /**
   * A group member's receipt on one of the session's outbound messages: that member's row
   * created or moved forward (DELIVERED → READ, never back). False when the message is unknown
   * or the member was already there or beyond (nothing changed).
   */
  async applyParticipantReceipt(tx: DbTransaction, r: { sessionId: string; waMessageId: string; participant: string; status: 'DELIVERED' | 'READ'; at: Date }): Promise<boolean> {
    const db = dbClient(this.prisma, tx);
    const rows = await db.$queryRaw<Array<{ messageId: string }>>`
      INSERT INTO "MessageReceipt" ("messageId", "participant", "status", "at")
      SELECT "id", ${r.participant}, ${r.status}::"MessageStatus", ${r.at} FROM "Message"
       WHERE "sessionId" = ${r.sessionId}::uuid AND "waMessageId" = ${r.waMessageId} AND "direction" = 'OUTBOUND'
      ON CONFLICT ("messageId", "participant") DO UPDATE SET "status" = EXCLUDED."status", "at" = EXCLUDED."at"
        WHERE "MessageReceipt"."status" = 'DELIVERED' AND EXCLUDED."status" = 'READ'
      RETURNING "messageId"::text AS "messageId"`;
    return rows.length > 0;
  }

  /**
   * Group members' receipts of a batch (any sessions) in ONE statement, as `applyParticipantReceipt`
   * does for one: the result says, per input row, whether it counted (the member's row created or
   * moved forward). Rows of one message and member are applied as their latest status (a
   * statement cannot change a row twice); all of them counted when that did. Rows are written in
   * message-id order, so two batches lock the same receipts in the same order.
   */
  async applyParticipantReceipts(tx: DbTransaction, receipts: Array<ReceiptChange & { participant: string }>): Promise<boolean[]> {
    if (!receipts.length) return [];
    const keyOf = (r: { sessionId: string; waMessageId: string; participant: string }) => `${r.sessionId}/${r.waMessageId}/${r.participant}`;
    const latest = new Map<string, ReceiptChange & { participant: string }>();
    for (const r of receipts) {
      const held = latest.get(keyOf(r));
      if (!held || (held.status === 'DELIVERED' && r.status === 'READ')) latest.set(keyOf(r), r);
    }
    const rows = [...latest.values()];
    const counted = await dbClient(this.prisma, tx).$queryRaw<Array<{ sessionId: string; waMessageId: string; participant: string }>>`
      WITH written AS (
        INSERT INTO "MessageReceipt" ("messageId", "participant", "status", "at")
        SELECT m."id", v."participant", v."status"::"MessageStatus", v."at"
        FROM unnest(${rows.map((r) => r.sessionId)}::uuid[], ${rows.map((r) => r.waMessageId)}::text[], ${rows.map((r) => r.participant)}::text[],
                    ${rows.map((r) => r.status)}::text[], ${rows.map((r) => r.at)}::timestamp(3)[]) AS v("sessionId", "waMessageId", "participant", "status", "at")
        JOIN "Message" m ON m."sessionId" = v."sessionId" AND m."waMessageId" = v."waMessageId" AND m."direction" = 'OUTBOUND'
        ORDER BY m."id", v."participant"
        ON CONFLICT ("messageId", "participant") DO UPDATE SET "status" = EXCLUDED."status", "at" = EXCLUDED."at"
          WHERE "MessageReceipt"."status" = 'DELIVERED' AND EXCLUDED."status" = 'READ'
        RETURNING "messageId", "participant"
      )
      SELECT m."sessionId"::text AS "sessionId", m."waMessageId", w."participant"
      FROM written w JOIN "Message" m ON m."id" = w."messageId"`;
    const changed = new Set(counted.map(keyOf));
    return receipts.map((r) => changed.has(keyOf(r)));
  }

  /**
   * Receipts of a batch (any sessions) in ONE statement: each named outbound message moved
   * forward to the latest status its receipts give (DELIVERED or READ; a READ also stamps a
   * missing deliveredAt), never back; unknown ids and messages already there or beyond are left
   * out of the result. Each moved message comes with its record (with the session's name) and
   * its status before. The messages are locked in id order first (two batches cannot deadlock),
   * and the status before is read from the locked row (a concurrent receipt's commit is seen).
   * A SENDING message moves too, as in `applyReceipt`.
   */
  async applyReceipts(tx: DbTransaction, receipts: ReceiptChange[]): Promise<MovedMessage[]> {
    if (!receipts.length) return [];
    const latest = new Map<string, ReceiptChange>();
    for (const r of receipts) {
      const key = `${r.sessionId}/${r.waMessageId}`;
      const held = latest.get(key);
      if (!held || (held.status === 'DELIVERED' && r.status === 'READ')) latest.set(key, r);
    }
    const rows = [...latest.values()];
    const moved = await dbClient(this.prisma, tx).$queryRaw<Array<RawMessageRow & { previous: string }>>`
      WITH target AS MATERIALIZED (
        SELECT m."id", m."status"::text AS "previous", v."rank", v."at"
        FROM unnest(${rows.map((r) => r.sessionId)}::uuid[], ${rows.map((r) => r.waMessageId)}::text[],
                    ${rows.map((r) => (r.status === 'READ' ? 3 : 2))}::int[], ${rows.map((r) => r.at)}::timestamp(3)[]) AS v("sessionId", "waMessageId", "rank", "at")
        JOIN "Message" m ON m."sessionId" = v."sessionId" AND m."waMessageId" = v."waMessageId" AND m."direction" = 'OUTBOUND'
        ORDER BY m."id"
        FOR NO KEY UPDATE OF m
      )
      UPDATE "Message" m SET
        "status" = (CASE WHEN t."rank" = 3 THEN 'READ' ELSE 'DELIVERED' END)::"MessageStatus",
        "deliveredAt" = COALESCE(m."deliveredAt", t."at"),
        "readAt" = CASE WHEN t."rank" = 3 THEN COALESCE(m."readAt", t."at") ELSE m."readAt" END,
        "updatedAt" = t."at"
      FROM target t, "Session" s
      WHERE m."id" = t."id" AND s."id" = m."sessionId"
        AND ${RANK_OF_M} BETWEEN 1 AND t."rank" - 1
      RETURNING ${RAW_MESSAGE_COLUMNS}, t."previous"`;
    return moved.map(({ previous, ...row }) => ({ record: rawRecord(row as RawMessageRow), previous }));
  }

  private async reread(tx: DbTransaction, id: string | undefined): Promise<MessageRecord | null> {
    if (!id) return null;
    return toRecord(await dbClient(this.prisma, tx).message.findUniqueOrThrow({ where: { id }, include: WITH_SESSION }));
  }

  async applyReceipt(tx: DbTransaction, sessionId: string, waMessageId: string, status: 'DELIVERED' | 'READ', at: Date): Promise<MessageRecord | null> {
    const db = dbClient(this.prisma, tx);
    const rank = status === 'DELIVERED' ? 2 : 3;
    const rows = await db.$queryRaw<Array<{ id: string }>>`
      UPDATE "Message" SET "status" = ${status}::"MessageStatus",
        "deliveredAt" = COALESCE("deliveredAt", ${at}),
        "readAt" = CASE WHEN ${rank} = 3 THEN COALESCE("readAt", ${at}) ELSE "readAt" END,
        "updatedAt" = ${at}
      WHERE "sessionId" = ${sessionId}::uuid AND "waMessageId" = ${waMessageId} AND "direction" = 'OUTBOUND'
        AND ${RANK_SQL} BETWEEN 1 AND ${rank - 1}
      RETURNING "id"::text AS "id"`;
    const id = rows[0]?.id;
    if (!id) return null;
    return toRecord(await db.message.findUniqueOrThrow({ where: { id }, include: WITH_SESSION }));
  }
}
