import { randomUUID } from 'node:crypto';
import { PrismaService } from '../../../src/infra/prisma/prisma.service';
import { TransactionRunner } from '../../../src/infra/prisma/transaction';
import { MessageRepository } from '../../../src/modules/messaging/message.repository';
import { OutboxRepository } from '../../../src/modules/messaging/outbox/outbox.repository';
import { waMessageIdFor } from '../../../src/modules/messaging/wa-message-id';
import { SessionRepository } from '../../../src/modules/sessions/session.repository';
import { query } from '../../helpers/db-query';
import { createTestEnv, type TestEnv } from '../../helpers/test-env';

/**
 * The outbox's hot statements on real PostgreSQL: the one-statement claim
 * (head row PROCESSING, its message SENDING with the WhatsApp id computed in
 * SQL, returned with the session's name) and the batched record of sends.
 */
describe('outbox repository (PostgreSQL)', () => {
  let env: TestEnv;
  let prisma: PrismaService;
  let outbox: OutboxRepository;
  let messages: MessageRepository;
  let transactions: TransactionRunner;
  let sessions: SessionRepository;
  const OWNER = 'worker-a';

  beforeAll(async () => {
    env = await createTestEnv();
    prisma = new PrismaService(env.config);
    outbox = new OutboxRepository(prisma);
    messages = new MessageRepository(prisma);
    transactions = new TransactionRunner(prisma);
    sessions = new SessionRepository(prisma);
  });
  afterAll(async () => {
    await prisma?.disconnect();
    await env?.cleanup();
  });

  async function queue(sessionName: string, chatId: string, text: string): Promise<string> {
    const id = randomUUID();
    const result = await messages.accept({ id, sessionName, chatId, type: 'text', text, content: { type: 'text', text }, replyToId: null, at: new Date() });
    expect(result.created).toBe(true);
    return id;
  }

  it('claims the chat head in order, with the WhatsApp id waMessageIdFor gives, and answers busy while it is held', async () => {
    await sessions.create('claim-a', {}, 'STOPPED');
    const chat = '5511900000001@s.whatsapp.net';
    const first = await queue('claim-a', chat, 'one');
    await queue('claim-a', chat, 'two');
    const session = (await sessions.findByName('claim-a'))!;

    const claim = await outbox.claimHead(session.id, chat, OWNER, new Date());
    expect(claim.kind).toBe('claimed');
    if (claim.kind !== 'claimed') return;
    expect(claim.item.messageId).toBe(first);
    expect(claim.message).toMatchObject({ id: first, sessionName: 'claim-a', status: 'SENDING', text: 'one', waMessageId: waMessageIdFor(first), direction: 'outbound' });
    const [row] = await query<{ waMessageId: string; status: string }>(env.databaseUrl, 'SELECT "waMessageId", status::text AS status FROM "Message" WHERE id = $1', [first]);
    expect(row).toEqual({ waMessageId: waMessageIdFor(first), status: 'SENDING' });

    expect(await outbox.claimHead(session.id, chat, 'worker-b', new Date())).toEqual({ kind: 'busy' });
    expect(await outbox.claimHead(session.id, 'nobody@s.whatsapp.net', OWNER, new Date())).toEqual({ kind: 'empty' });
  });

  it('records a batch of sends of two sessions in one statement: SENT, rows deleted, a receipt that came first kept', async () => {
    await sessions.create('batch-a', {}, 'STOPPED');
    await sessions.create('batch-b', {}, 'STOPPED');
    const a = (await sessions.findByName('batch-a'))!;
    const b = (await sessions.findByName('batch-b'))!;
    const chat = '5511900000002@s.whatsapp.net';
    await queue('batch-a', chat, 'a1');
    await queue('batch-b', chat, 'b1');
    const claims = [await outbox.claimHead(a.id, chat, OWNER, new Date()), await outbox.claimHead(b.id, chat, OWNER, new Date())];
    const items = claims.map((c) => (c.kind === 'claimed' ? c : null)!);
    // b1's delivery receipt was recorded before its send was.
    await query(env.databaseUrl, `UPDATE "Message" SET status = 'DELIVERED' WHERE id = $1`, [items[1]!.item.messageId]);

    const at = new Date();
    const records = await transactions.run((tx) =>
      outbox.markSentMany(
        tx,
        OWNER,
        items.map((c) => ({ item: c.item, waMessageId: c.message.waMessageId!, at })),
      ),
    );
    expect(records.map((r) => [r.sessionName, r.text, r.status, r.attempts])).toEqual([
      ['batch-a', 'a1', 'SENT', 1],
      ['batch-b', 'b1', 'DELIVERED', 1],
    ]);
    expect(records[0]!.sentAt?.getTime()).toBe(at.getTime());
    const left = await query<{ n: string }>(env.databaseUrl, 'SELECT count(*) AS n FROM "MessageQueueItem" WHERE "sessionId" = ANY($1::uuid[])', [[a.id, b.id]]);
    expect(Number(left[0]!.n)).toBe(0);
  });
});
