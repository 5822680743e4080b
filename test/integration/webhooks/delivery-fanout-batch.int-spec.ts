import { randomUUID } from 'node:crypto';
import { EventLog, type NewEvent } from '../../../src/infra/events/event-log';
import { EventRepository } from '../../../src/infra/events/event.repository';
import type { BackgroundFailures } from '../../../src/infra/metrics/background-failures';
import { PrismaService } from '../../../src/infra/prisma/prisma.service';
import { TransactionRunner } from '../../../src/infra/prisma/transaction';
import { SessionRepository } from '../../../src/modules/sessions/session.repository';
import { DeliveryRepository } from '../../../src/modules/webhooks/deliveries/delivery.repository';
import { query } from '../../helpers/db-query';
import { createTestEnv, type TestEnv } from '../../helpers/test-env';

/**
 * The delivery fan-out of a batch of events (one appendMany: several sessions)
 * in one statement: each event gets one delivery per ACTIVE endpoint that
 * subscribes to it (its session's and the global ones, `*` or its type), and
 * for every endpoint its deliveries are in the events' order (seq order, the
 * dispatchers' claim order). A repeat inserts nothing.
 */
describe('webhook delivery fan-out of a batch (PostgreSQL)', () => {
  let env: TestEnv;
  let prisma: PrismaService;
  let log: EventLog;
  let tx: TransactionRunner;
  let deliveries: DeliveryRepository;
  let fanOuts = 0;

  beforeAll(async () => {
    env = await createTestEnv();
    prisma = new PrismaService(env.config);
    log = new EventLog(new EventRepository(prisma));
    tx = new TransactionRunner(prisma);
    deliveries = new DeliveryRepository(prisma, env.config, { record: () => undefined } as unknown as BackgroundFailures);
    log.onAppend(async (t, events) => {
      fanOuts++;
      await deliveries.fanOut(
        t,
        events.map((e) => ({ id: e.id, sessionId: e.sessionId, type: e.event, createdAt: new Date(e.timestamp) })),
      );
    });
  });
  afterAll(async () => {
    await deliveries?.onApplicationShutdown();
    await prisma?.disconnect();
    await env?.cleanup();
  });

  const webhook = async (label: string, sessionId: string | null, events: string[], status = 'ACTIVE') => {
    const id = randomUUID();
    await query(
      env.databaseUrl,
      `INSERT INTO "Webhook" ("id", "sessionId", "url", "events", "status", "secret", "updatedAt") VALUES ($1, $2, $3, $4, $5::"WebhookStatus", 'whsec_x', now())`,
      [id, sessionId, `http://127.0.0.1:9/${label}`, events, status],
    );
    return id;
  };

  it('fans a batch of several sessions out in one statement: the subscribed endpoints, each with its events in order', async () => {
    const sessions = new SessionRepository(prisma);
    const a = (await sessions.create('fan-a', {}, 'STOPPED'))!;
    const b = (await sessions.create('fan-b', {}, 'STOPPED'))!;
    const all = await webhook('all', null, ['*']);
    const onlyA = await webhook('only-a', a.id, ['*']);
    const receivedOfB = await webhook('received-b', b.id, ['message.received']);
    await webhook('disabled', null, ['*'], 'DISABLED');
    const event = (s: { id: string; name: string }, type: string, i: number): NewEvent => ({ sessionId: s.id, sessionName: s.name, type, data: { i } });
    fanOuts = 0;

    const appended = await tx.run((t) =>
      log.appendMany(t, [event(b, 'message.received', 0), event(a, 'message.received', 1), event(b, 'session.status', 2), event(a, 'message.sent', 3), event(b, 'message.received', 4)]),
    );
    expect(fanOuts).toBe(1); // one hook call, one statement, for the whole batch

    const rows = await query<{ webhookId: string; eventId: string; sessionId: string; eventType: string; status: string }>(
      env.databaseUrl,
      `SELECT "webhookId"::text AS "webhookId", "eventId", "sessionId"::text AS "sessionId", "eventType", "status"::text AS "status" FROM "WebhookDelivery" ORDER BY "seq"`,
    );
    const byEndpoint = (id: string) => rows.filter((r) => r.webhookId === id).map((r) => r.eventId);
    const ids = appended.map((e) => e.id);
    expect(byEndpoint(all)).toEqual(ids);
    expect(byEndpoint(onlyA)).toEqual([ids[1], ids[3]]);
    expect(byEndpoint(receivedOfB)).toEqual([ids[0], ids[4]]);
    expect(rows).toHaveLength(9);
    expect(rows.every((r) => r.status === 'PENDING')).toBe(true);
    expect(rows.find((r) => r.eventId === ids[2] && r.webhookId === all)).toMatchObject({ sessionId: b.id, eventType: 'session.status' });

    // A repeat of the same events inserts nothing (the unique event/endpoint pair).
    const again = await tx.run((t) =>
      deliveries.fanOut(
        t,
        appended.map((e, i) => ({ id: e.id, sessionId: i % 2 ? a.id : b.id, type: e.event, createdAt: new Date(e.timestamp) })),
      ),
    );
    expect(again).toEqual([]);
  });
});
