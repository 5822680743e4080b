import { EventBus } from '../../../src/infra/events/event-bus';
import { EventLog } from '../../../src/infra/events/event-log';
import { EventRepository } from '../../../src/infra/events/event.repository';
import { PrismaService } from '../../../src/infra/prisma/prisma.service';
import { TransactionRunner } from '../../../src/infra/prisma/transaction';
import { SessionStatusPublisher } from '../../../src/modules/sessions/runtime/session-status.publisher';
import { SessionRepository } from '../../../src/modules/sessions/session.repository';
import { query } from '../../helpers/db-query';
import { createTestEnv, type TestEnv } from '../../helpers/test-env';

/**
 * The event log on real PostgreSQL, with two PrismaClients standing for two
 * replicas: per-session sequences are gapless and unique under concurrent
 * appends, a rolled-back change leaves neither an event nor a gap, and the
 * status publisher records its events in the transaction of the write.
 */
describe('event log (PostgreSQL)', () => {
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

  const sequencesOf = async (sessionId: string) =>
    (await query<{ sequence: number }>(env.databaseUrl, 'SELECT sequence FROM "Event" WHERE "sessionId" = $1 ORDER BY sequence', [sessionId])).map((r) => r.sequence);

  it('numbers 200 concurrent appends from two replicas 1..200, per session, without gaps or duplicates', async () => {
    const a = (await sessions.create('seq-a', {}, 'STOPPED'))!;
    const b = (await sessions.create('seq-b', {}, 'STOPPED'))!;
    // Each replica appends through as many loops as its pool has connections (10): 20 transactions
    // contend for the two counters at any moment, and none waits on its own pool past Prisma's
    // transaction start limit (200 at once did, on a loaded CI machine).
    let next = 0;
    await Promise.all(
      replicas.flatMap((replica) =>
        Array.from({ length: 10 }, async () => {
          for (let i = next++; i < 200; i = next++) {
            const target = i % 4 < 2 ? a : b;
            await replica.tx.run((tx) => replica.log.append(tx, { sessionId: target.id, sessionName: target.name, type: 'test.event', data: { i } }));
          }
        }),
      ),
    );
    expect(await sequencesOf(a.id)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    expect(await sequencesOf(b.id)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
  });

  it('leaves no event and no gap for a change that rolled back', async () => {
    const s = (await sessions.create('rollback', {}, 'STOPPED'))!;
    const { log, tx } = replicas[0]!;
    await tx.run((t) => log.append(t, { sessionId: s.id, sessionName: s.name, type: 'test.event', data: {} }));
    await expect(
      tx.run(async (t) => {
        await log.append(t, { sessionId: s.id, sessionName: s.name, type: 'test.rolled-back', data: {} });
        throw new Error('the change failed');
      }),
    ).rejects.toThrow('the change failed');
    const next = await tx.run((t) => log.append(t, { sessionId: s.id, sessionName: s.name, type: 'test.event', data: {} }));
    expect(next.sequence).toBe(2);
    expect(await sequencesOf(s.id)).toEqual([1, 2]);
    const types = await query<{ type: string }>(env.databaseUrl, 'SELECT type FROM "Event" WHERE "sessionId" = $1', [s.id]);
    expect(types.map((t) => t.type)).not.toContain('test.rolled-back');
  });

  it('pages a session history after a sequence with nextAfter', async () => {
    const s = (await sessions.create('pages', {}, 'STOPPED'))!;
    const { log, tx } = replicas[1]!;
    for (let i = 0; i < 5; i++) await tx.run((t) => log.append(t, { sessionId: s.id, sessionName: s.name, type: 'test.event', data: { i } }));
    const first = await log.page(s.id, 0, 2);
    expect(first.items.map((e) => e.sequence)).toEqual([1, 2]);
    expect(first.items[0]).toEqual({ id: expect.stringMatching(/^evt_[0-9a-f]{32}$/), event: 'test.event', session: 'pages', sequence: 1, timestamp: expect.any(String), data: { i: 0 } });
    const rest = await log.page(s.id, first.nextAfter!, 10);
    expect(rest).toMatchObject({ nextAfter: 5 });
    expect(rest.items.map((e) => e.sequence)).toEqual([3, 4, 5]);
    expect(await log.page(s.id, 5, 10)).toEqual({ items: [], nextAfter: null });
  });

  it('records session.status (with previous and lastError) and session.qr in the transaction of the status write; a fenced-out write records nothing', async () => {
    const { prisma, log, tx } = replicas[0]!;
    const publisher = new SessionStatusPublisher(sessions, tx, new EventBus(), log);
    const row = (await sessions.create('published', {}, 'RUNNING'))!;
    const owner = (await sessions.bumpEpoch(row.id))!;
    const fence = { id: row.id, name: row.name, epoch: owner.leaseEpoch };
    const expiresAt = new Date(Date.now() + 60_000);
    await publisher.write(fence, 'STOPPED', { status: 'STARTING' });
    await publisher.write(fence, 'STARTING', { status: 'SCAN_QR', patch: { qr: 'ref,1', qrExpiresAt: expiresAt } });
    await publisher.write(fence, 'SCAN_QR', { status: 'SCAN_QR', patch: { lastError: 'same status: no session.status event' } });
    // Another worker took the session: the stale owner's CONFLICT changes nothing and records nothing.
    await sessions.bumpEpoch(row.id);
    expect(await publisher.write(fence, 'SCAN_QR', { status: 'CONFLICT', patch: { lastError: 'replaced' } })).toBeNull();
    const events = (await log.page(row.id, 0, 100)).items.map((e) => ({ event: e.event, sequence: e.sequence, data: e.data }));
    expect(events).toEqual([
      { event: 'session.status', sequence: 1, data: { status: 'STARTING', previous: 'STOPPED', lastError: null } },
      { event: 'session.status', sequence: 2, data: { status: 'SCAN_QR', previous: 'STARTING', lastError: null } },
      { event: 'session.qr', sequence: 3, data: { value: 'ref,1', expiresAt: expiresAt.toISOString() } },
    ]);
    expect((await prisma.session.findUniqueOrThrow({ where: { id: row.id } })).status).toBe('SCAN_QR');
  });
});
