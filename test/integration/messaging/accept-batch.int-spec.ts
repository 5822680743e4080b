import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { PrismaService } from '../../../src/infra/prisma/prisma.service';
import { MessageRepository, type AcceptedOutbound } from '../../../src/modules/messaging/message.repository';
import { SessionRepository } from '../../../src/modules/sessions/session.repository';
import { query } from '../../helpers/db-query';
import { createTestEnv, waitFor, type TestEnv } from '../../helpers/test-env';

const TTL_MS = 24 * 60 * 60 * 1000;

/**
 * Accepts of concurrent requests in one statement (MessageRepository.acceptMany) on real
 * PostgreSQL: each row as a lone accept would be, in the batch's order.
 */
describe('batched accept (PostgreSQL)', () => {
  let env: TestEnv;
  let prisma: PrismaService;
  let messages: MessageRepository;
  let sessions: SessionRepository;

  beforeAll(async () => {
    env = await createTestEnv();
    prisma = new PrismaService(env.config);
    messages = new MessageRepository(prisma);
    sessions = new SessionRepository(prisma);
    await sessions.create('batch-one', {}, 'STOPPED');
    await sessions.create('batch-two', {}, 'STOPPED');
  });
  afterAll(async () => {
    await prisma?.disconnect();
    await env?.cleanup();
  });

  function outbound(sessionName: string, chatId: string, text: string, key?: string): AcceptedOutbound {
    const at = new Date();
    return {
      id: randomUUID(),
      sessionName,
      chatId,
      type: 'text',
      text,
      content: { type: 'text', text },
      replyToId: null,
      at,
      ...(key ? { idempotency: { key, requestHash: `hash-${text}`, response: { text }, expiredBefore: new Date(at.getTime() - TTL_MS) } } : {}),
    };
  }

  it('writes each message of two sessions with its outbox row in batch order, and answers an unknown session per row', async () => {
    const chat = '5511911110001@s.whatsapp.net';
    const batch = [outbound('batch-one', chat, 'a'), outbound('batch-two', chat, 'x'), outbound('nobody', chat, 'lost'), outbound('batch-one', chat, 'b'), outbound('batch-one', chat, 'c')];
    const results = await messages.acceptMany(batch, TTL_MS);
    expect(results.map((r) => r.created)).toEqual([true, true, false, true, true]);
    expect(results[2]!.sessionId).toBeNull();
    const one = (await sessions.findByName('batch-one'))!;
    expect(results[0]!.sessionId).toBe(one.id);
    const rows = await query<{ text: string; status: string }>(
      env.databaseUrl,
      `SELECT m.text, m.status::text AS status FROM "MessageQueueItem" q JOIN "Message" m ON m.id = q."messageId" WHERE q."sessionId" = $1 ORDER BY q.seq`,
      [one.id],
    );
    expect(rows).toEqual([
      { text: 'a', status: 'QUEUED' },
      { text: 'b', status: 'QUEUED' },
      { text: 'c', status: 'QUEUED' },
    ]);
    const lost = await query(env.databaseUrl, 'SELECT 1 FROM "Message" WHERE id = $1', [batch[2]!.id]);
    expect(lost).toEqual([]);
  });

  it('takes an Idempotency-Key once: a later batch with the same key creates nothing, another key in it does', async () => {
    const chat = '5511911110002@s.whatsapp.net';
    const [first] = await messages.acceptMany([outbound('batch-two', chat, 'first', 'key-1')], TTL_MS);
    expect(first!.created).toBe(true);
    const again = [outbound('batch-two', chat, 'first', 'key-1'), outbound('batch-two', chat, 'other', 'key-2')];
    const results = await messages.acceptMany(again, TTL_MS);
    expect(results.map((r) => r.created)).toEqual([false, true]);
    expect(await query(env.databaseUrl, 'SELECT 1 FROM "Message" WHERE id = $1', [again[0]!.id])).toEqual([]);
    const keys = await query<{ key: string }>(env.databaseUrl, `SELECT key FROM "IdempotencyKey" WHERE key IN ('key-1', 'key-2') ORDER BY key`);
    expect(keys.map((k) => k.key)).toEqual(['key-1', 'key-2']);
  });

  it('refuses a batch holding one key twice (the service splits such a batch one row per statement)', async () => {
    const chat = '5511911110003@s.whatsapp.net';
    await expect(messages.acceptMany([outbound('batch-one', chat, 'd1', 'dup'), outbound('batch-one', chat, 'd2', 'dup')], TTL_MS)).rejects.toThrow();
    expect(await query(env.databaseUrl, `SELECT 1 FROM "IdempotencyKey" WHERE key = 'dup'`)).toEqual([]);
  });

  /**
   * Outcome of an accept issued while `holder` keeps a lock on the session's row: 'done' when it
   * finished, 'waits' as soon as PostgreSQL shows a backend of this database waiting for a lock.
   */
  async function acceptBeside(holder: Client, accept: () => Promise<unknown>): Promise<'done' | 'waits'> {
    const holderPid = (await holder.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    let finished = false;
    const running = accept().finally(() => (finished = true));
    const outcome = await waitFor(async () => {
      if (finished) return 'done' as const;
      const waiting = await query(
        env.databaseUrl,
        `SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> $1`,
        [holderPid],
      );
      return waiting.length ? ('waits' as const) : null;
    }, 'the accept to finish or to wait for a lock');
    return outcome === 'done' ? (await running, outcome) : (void running.catch(() => undefined), outcome);
  }

  it('does not wait for a transaction holding the session row for its stats (a deadlock with the send records answered 500 in CI)', async () => {
    const one = (await sessions.findByName('batch-one'))!;
    const holder = new Client({ connectionString: env.databaseUrl });
    await holder.connect();
    try {
      // What a send record or an inbound batch holds until it commits: the session's row FOR NO KEY UPDATE.
      await holder.query('BEGIN');
      await holder.query(`SELECT 1 FROM "Session" WHERE id = $1 FOR NO KEY UPDATE`, [one.id]);
      const chat = '5511911110004@s.whatsapp.net';
      expect(await acceptBeside(holder, () => messages.accept(outbound('batch-one', chat, 'lone')))).toBe('done');
      expect(await acceptBeside(holder, () => messages.acceptMany([outbound('batch-one', chat, 'batched', 'key-held')], TTL_MS))).toBe('done');
    } finally {
      await holder.query('ROLLBACK');
      await holder.end();
    }
  });

  it('still waits for a DELETE of the session under way, then accepts nothing for it', async () => {
    const doomed = (await sessions.create('batch-doomed', {}, 'STOPPED'))!;
    const holder = new Client({ connectionString: env.databaseUrl });
    await holder.connect();
    try {
      await holder.query('BEGIN');
      // What SessionRepository.markDeleted does (the name changes too: a key update, FOR UPDATE).
      await holder.query(`UPDATE "Session" SET "deletedAt" = now(), name = name || '~deleted~' || id::text WHERE id = $1`, [doomed.id]);
      const chat = '5511911110005@s.whatsapp.net';
      const lone = outbound('batch-doomed', chat, 'too late');
      let result: Promise<unknown> | undefined;
      expect(await acceptBeside(holder, () => (result = messages.accept(lone)))).toBe('waits');
      await holder.query('COMMIT');
      expect(await result).toEqual({ sessionId: null, created: false });
      expect(await query(env.databaseUrl, 'SELECT 1 FROM "Message" WHERE "sessionId" = $1', [doomed.id])).toEqual([]);
    } finally {
      await holder.end();
    }
  });
});
