import { Injectable } from '@nestjs/common';
import { Prisma } from '../../../generated/prisma/client';
import { PrismaService } from '../../../infra/prisma/prisma.service';
import { dbClient, type DbTransaction } from '../../../infra/prisma/transaction';
import { toRecord, type MessageRecord } from '../message.repository';

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

/** Receipt statuses in the order a message goes through them: a receipt never moves it back. */
const RANK_SQL = Prisma.sql`CASE "status" WHEN 'SENDING' THEN 1 WHEN 'SENT' THEN 1 WHEN 'DELIVERED' THEN 2 WHEN 'READ' THEN 3 ELSE 0 END`;

/** The Message rows of what WhatsApp delivers: received messages, the phone's own sends, receipts. */
@Injectable()
export class InboundRepository {
  constructor(private readonly prisma: PrismaService) {}

  /**
   * Records a delivered message once: null when the session already has a
   * message with that WhatsApp id (a re-delivery, or ZapHub's own send seen
   * again), so the caller appends no second event.
   */
  async insertOnce(tx: DbTransaction, m: NewRecordedMessage): Promise<MessageRecord | null> {
    const db = dbClient(this.prisma, tx);
    const status = m.direction === 'INBOUND' ? 'RECEIVED' : 'SENT';
    const rows = await db.$queryRaw<Array<{ id: string }>>`
      INSERT INTO "Message" ("id", "sessionId", "chatId", "direction", "type", "status", "text", "content", "waMessageId", "attempts", "createdAt", "updatedAt", "sentAt")
      VALUES (gen_random_uuid(), ${m.sessionId}::uuid, ${m.chatId}, ${m.direction}::"MessageDirection", ${m.type}, ${status}::"MessageStatus", ${m.text},
              ${JSON.stringify(m.content)}::jsonb, ${m.waMessageId}, 0, ${new Date()}, ${new Date()}, ${m.direction === 'OUTBOUND' ? m.at : null})
      ON CONFLICT ("sessionId", "waMessageId") DO NOTHING
      RETURNING "id"::text AS "id"`;
    const id = rows[0]?.id;
    if (!id) return null;
    return toRecord(await db.message.findUniqueOrThrow({ where: { id }, include: WITH_SESSION }));
  }

  /**
   * Moves an outbound message forward to DELIVERED or READ (a READ also
   * stamps a missing deliveredAt); null when the id is not one of the
   * session's outbound messages or the message is already there or beyond.
   * A SENDING message moves too: the receipt can be recorded before the
   * send's own commit, which then keeps the later status.
   */
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
