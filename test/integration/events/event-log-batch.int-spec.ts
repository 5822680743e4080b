import { EventLog, type NewEvent } from '../../../src/infra/events/event-log';
import { EventRepository } from '../../../src/infra/events/event.repository';
import { PrismaService } from '../../../src/infra/prisma/prisma.service';
import { TransactionRunner } from '../../../src/infra/prisma/transaction';
import { SessionRepository } from '../../../src/modules/sessions/session.repository';
import { query } from '../../helpers/db-query';
import { createTestEnv, waitFor, type TestEnv } from '../../helpers/test-env';

/**
 * EventLog.appendMany on real PostgreSQL: one statement numbers a batch of
 * events of several sessions (consecutive per session, in input order, after
 * what the sessions had), the hooks see the batch once, a rollback leaves no
 * gap, and batches naming the same sessions in opposite orders, from two
 * replicas at once, neither deadlock nor leave gaps.
 */
describe('event log batches (PostgreSQL)', () => {
  let env: TestEnv;
  const replicas: Array<{ prisma: PrismaService; log: EventLog; tx: TransactionRunner }> = [];
  let sessions: SessionRepository;

  beforeAll(async () => {
    env = await createTestEnv();
    for (let i = 0; i < 2; i++) {
      const prisma = new PrismaService(env.config);
      replicas.push({ prisma, log: new EventLog(new EventRepository(prisma)), tx: new TransactionRunner(prisma) });
    }
    sessions = new SessionRepository(replicas[0]!.prisma);
  });
  afterAll(async () => {
    for (const r of replicas) await r.prisma.disconnect();
    await env?.cleanup();
  });

  const rowsOf = async (sessionId: string) =>
    query<{ sequence: number; type: string; data: { i: number } }>(env.databaseUrl, 'SELECT sequence, type, data FROM "Event" WHERE "sessionId" = $1 ORDER BY sequence', [sessionId]);
  const event = (s: { id: string; name: string }, i: number, type = 'test.event'): NewEvent => ({ sessionId: s.id, sessionName: s.name, type, data: { i } });

  it('numbers a batch of several sessions in one statement: envelopes in input order, each session consecutive after its last event', async () => {
    const a = (await sessions.create('batch-a', {}, 'STOPPED'))!;
    const b = (await sessions.create('batch-b', {}, 'STOPPED'))!;
    const { log, tx } = replicas[0]!;
    await tx.run((t) => log.append(t, event(a, 0)));
    const seen: Array<Array<{ sessionId: string; sequence: number }>> = [];
    log.onAppend(async (_t, events) => void seen.push(events.map((e) => ({ sessionId: e.sessionId, sequence: e.sequence }))));

    const input = [event(b, 1), event(a, 2, 'test.other'), event(b, 3), event(a, 4), event(b, 5)];
    const envelopes = await tx.run((t) => log.appendMany(t, input));

    expect(envelopes.map((e) => [e.session, e.event, e.data.i, e.sequence])).toEqual([
      ['batch-b', 'test.event', 1, 1],
      ['batch-a', 'test.other', 2, 2],
      ['batch-b', 'test.event', 3, 2],
      ['batch-a', 'test.event', 4, 3],
      ['batch-b', 'test.event', 5, 3],
    ]);
    expect(new Set(envelopes.map((e) => e.id)).size).toBe(5);
    expect(envelopes.every((e) => /^evt_[0-9a-f]{32}$/.test(e.id))).toBe(true);
    // The hook ran once, with the whole batch in input order.
    expect(seen).toEqual([envelopes.map((e, i) => ({ sessionId: input[i]!.sessionId, sequence: e.sequence }))]);
    expect((await rowsOf(a.id)).map((r) => [r.sequence, r.type, r.data.i])).toEqual([
      [1, 'test.event', 0],
      [2, 'test.other', 2],
      [3, 'test.event', 4],
    ]);
    expect((await rowsOf(b.id)).map((r) => [r.sequence, r.data.i])).toEqual([
      [1, 1],
      [2, 3],
      [3, 5],
    ]);
    // What the stored rows say is what the envelopes said.
    expect((await log.page(b.id, 0, 10)).items).toEqual(envelopes.filter((e) => e.session === 'batch-b'));
    expect(await log.lastSequence(a.id)).toBe(3);
    await expect(tx.run((t) => log.appendMany(t, []))).resolves.toEqual([]);
  });

  it('leaves no event and no gap for a batch that rolled back', async () => {
    const s = (await sessions.create('batch-rollback', {}, 'STOPPED'))!;
    const { log, tx } = replicas[1]!;
    await expect(
      tx.run(async (t) => {
        await log.appendMany(t, [event(s, 1), event(s, 2)]);
        throw new Error('the change failed');
      }),
    ).rejects.toThrow('the change failed');
    const next = await tx.run((t) => log.appendMany(t, [event(s, 3), event(s, 4)]));
    expect(next.map((e) => e.sequence)).toEqual([1, 2]);
    expect((await rowsOf(s.id)).map((r) => r.data.i)).toEqual([3, 4]);
  });

  it('runs concurrent batches over the same sessions in opposite orders from two replicas without deadlock or gaps', async () => {
    const all: Array<{ id: string; name: string }> = [];
    for (let i = 0; i < 4; i++) all.push((await sessions.create(`batch-c${i}`, {}, 'STOPPED'))!);
    const reversed = [...all].reverse();
    const rounds = 15;
    // Each loop appends batches naming every session (forward or backward, two events each), in
    // transactions that also hold each counter for a moment: without the counters locked in one
    // order, two such batches would deadlock.
    let tag = 0;
    await Promise.all(
      replicas.flatMap((replica, r) =>
        Array.from({ length: 4 }, async (_, loop) => {
          for (let round = 0; round < rounds; round++) {
            const order = (r + loop + round) % 2 ? reversed : all;
            await replica.tx.run(async (t) => {
              await replica.log.appendMany(t, order.flatMap((s) => [event(s, tag++), event(s, tag++)]));
              await new Promise((resolve) => setTimeout(resolve, 2));
            });
          }
        }),
      ),
    );
    const expected = Array.from({ length: 2 * 4 * rounds * 2 }, (_, i) => i + 1);
    for (const s of all) expect((await rowsOf(s.id)).map((r) => r.sequence)).toEqual(expected);
  });

  it("a batch that counts a session's stats and then appends does not deadlock with an append of that session in between", async () => {
    // Stats batch A locks the session's row; append B takes the session's event counter and inserts
    // an event, whose foreign-key check needs KEY SHARE on that row; then A appends (waits for the
    // counter). With FOR UPDATE in the stats statement, B waited for A and A for B: PostgreSQL
    // broke the cycle after deadlock_timeout by failing one of them.
    const s = (await sessions.create('stats-then-append', {}, 'STOPPED'))!;
    const [a, b] = replicas as [(typeof replicas)[0], (typeof replicas)[0]];
    const stats = new SessionRepository(a.prisma);
    let bDone = false;
    let bStarted: Promise<unknown> = Promise.resolve();
    const txA = a.tx.run(async (tx) => {
      await stats.incrementStatMany('sent', [{ id: s.id, by: 1 }], tx);
      bStarted = b.tx.run((txB) => b.log.append(txB, event(s, 1))).then(() => (bDone = true));
      // B has committed, or is waiting for a lock (on A's session row before the fix).
      await waitFor(
        async () =>
          bDone ||
          (await query<{ n: string }>(env.databaseUrl, `SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`))[0]!.n !== '0',
        'append B committed or waiting',
        10_000,
        10,
      );
      await a.log.append(tx, event(s, 2));
    });
    await Promise.all([txA, bStarted]);
    expect((await rowsOf(s.id)).map((r) => [r.sequence, r.data.i])).toEqual([
      [1, 1],
      [2, 2],
    ]);
  });
});
