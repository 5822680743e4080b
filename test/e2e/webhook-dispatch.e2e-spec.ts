import { EventLog } from '../../src/infra/events/event-log';
import { TransactionRunner } from '../../src/infra/prisma/transaction';
import { QueueName } from '../../src/infra/queues/queue-catalogue';
import { QueuesService } from '../../src/infra/queues/queues.service';
import { DeliveryAttemptService } from '../../src/modules/webhooks/deliveries/delivery-attempt.service';
import { SessionsService } from '../../src/modules/sessions/sessions.service';
import { startTestApp, type TestApp } from '../helpers/test-app';
import { createTestEnv, waitFor, type TestEnv } from '../helpers/test-env';
import { WebhookReceiver } from '../helpers/webhook-receiver';

/**
 * First attempts go through the dispatchers: no job per delivery, a hint
 * after the commit (in process and over Redis to the other replicas), claims
 * in batches with SKIP LOCKED. The dispatchers' own timer is set far beyond
 * the test (WEBHOOK_RECONCILE_INTERVAL_MS), so every delivery below was
 * started by a hint.
 */
const BASE_ENV = { WEBHOOK_ALLOW_PRIVATE: 'true', WEBHOOK_RECONCILE_INTERVAL_MS: '600000', STATUS_DEBOUNCE_MS: '0' };

async function createSession(t: TestApp, name: string): Promise<void> {
  const res = await t.http.post('/api/sessions').set('X-Api-Key', t.apiKey).send({ name, start: false });
  if (res.status !== 201) throw new Error(`create session ${name}: ${res.status} ${JSON.stringify(res.body)}`);
}

async function createHook(t: TestApp, session: string, url: string): Promise<string> {
  const res = await t.http.post(`/api/sessions/${session}/webhooks`).set('X-Api-Key', t.apiKey).send({ url, events: ['message.received'] });
  if (res.status !== 201) throw new Error(`create webhook: ${res.status} ${JSON.stringify(res.body)}`);
  return (res.body as { id: string }).id;
}

/** `transactions` transactions of `perTransaction` events each, appended by `writers` concurrent writers. */
async function appendMany(t: TestApp, session: string, transactions: number, perTransaction: number, writers = 2): Promise<void> {
  const sessionId = await t.app.get(SessionsService).idOf(session);
  const log = t.app.get(EventLog);
  const runner = t.app.get(TransactionRunner);
  let next = 0;
  const writer = async () => {
    while (next < transactions) {
      const n = next++;
      await runner.run(async (tx) => {
        for (let i = 0; i < perTransaction; i++) await log.append(tx, { sessionId, sessionName: session, type: 'message.received', data: { n: n * perTransaction + i } });
      });
    }
  };
  await Promise.all(Array.from({ length: writers }, writer));
}

/** Counts the attempts each app's dispatcher or processor started (the app's own service, wrapped). */
function countAttempts(t: TestApp): { count: number } {
  const counter = { count: 0 };
  const service = t.app.get(DeliveryAttemptService);
  const run = service.run.bind(service);
  service.run = (...args: Parameters<typeof run>) => {
    counter.count++;
    return run(...args);
  };
  return counter;
}

describe('webhook dispatch across replicas: an api replica appends, two workers deliver', () => {
  let env: TestEnv;
  let api: TestApp;
  let w1: TestApp;
  let w2: TestApp;
  let receiver: WebhookReceiver;

  beforeAll(async () => {
    env = await createTestEnv(BASE_ENV);
    api = await startTestApp({ ...BASE_ENV, APP_ROLE: 'api', INSTANCE_ID: 'dispatch-api' }, env);
    w1 = await startTestApp({ ...BASE_ENV, APP_ROLE: 'worker', INSTANCE_ID: 'dispatch-w1' }, env);
    w2 = await startTestApp({ ...BASE_ENV, APP_ROLE: 'worker', INSTANCE_ID: 'dispatch-w2' }, env);
    receiver = await WebhookReceiver.start();
  });
  afterAll(async () => {
    await api?.close();
    await w1?.close();
    await w2?.close();
    await receiver?.stop();
    await env?.cleanup();
  });

  it('delivers an event committed on a replica without a worker, through the Redis hint, with no webhook-delivery job', async () => {
    await createSession(api, 'hint');
    await createHook(api, 'hint', receiver.url);
    const before = receiver.requests.length;
    await appendMany(api, 'hint', 1, 1, 1);
    await waitFor(() => receiver.requests.length > before, 'the delivery of the event appended on the api replica', 10000);
    const [request] = receiver.requests.slice(before);
    expect(request).toMatchObject({ status: 200, json: { event: 'message.received', session: 'hint', sequence: 1, data: { n: 0 } } });
    const counts = await w1.app.get(QueuesService).get(QueueName.WebhookDelivery).getJobCounts('waiting', 'prioritized', 'delayed', 'active', 'completed', 'failed');
    expect(counts).toEqual({ waiting: 0, prioritized: 0, delayed: 0, active: 0, completed: 0, failed: 0 });
  });

  it('shares a burst between two workers: every event delivered exactly once, both workers took part', async () => {
    const total = 600;
    await createSession(api, 'burst');
    await createHook(api, 'burst', receiver.url);
    const byW1 = countAttempts(w1);
    const byW2 = countAttempts(w2);
    const mine = () => receiver.requests.filter((r) => (r.json as { session?: string } | undefined)?.session === 'burst');
    await appendMany(api, 'burst', total / 10, 10);
    await waitFor(() => mine().length >= total, () => `${total} deliveries (got ${mine().length})`, 60000, 100);
    const sequences = mine().map((r) => (r.json as { sequence: number }).sequence);
    expect({
      requests: sequences.length,
      distinct: new Set(sequences).size,
      notOk: mine().filter((r) => r.status !== 200).length,
      min: Math.min(...sequences),
      max: Math.max(...sequences),
    }).toEqual({ requests: total, distinct: total, notOk: 0, min: 1, max: total });
    expect(byW1.count + byW2.count).toBe(total);
    expect(byW1.count).toBeGreaterThan(0);
    expect(byW2.count).toBeGreaterThan(0);
  });
});

describe('webhook dispatch order: one request at a time leaves in sequence order', () => {
  let t: TestApp;
  let receiver: WebhookReceiver;

  beforeAll(async () => {
    t = await startTestApp({ ...BASE_ENV, QUEUE_WEBHOOK_DELIVERY_CONCURRENCY: '1' });
    receiver = await WebhookReceiver.start();
  });
  afterAll(async () => {
    await t?.close();
    await receiver?.stop();
  });

  it('sends the events of a session to an endpoint in sequence order (QUEUE_WEBHOOK_DELIVERY_CONCURRENCY=1)', async () => {
    const total = 300;
    await createSession(t, 'order');
    await createHook(t, 'order', receiver.url);
    await appendMany(t, 'order', total / 10, 10);
    await waitFor(() => receiver.requests.length >= total, () => `${total} deliveries (got ${receiver.requests.length})`, 60000, 100);
    const sequences = receiver.requests.map((r) => (r.json as { sequence: number }).sequence);
    expect(sequences).toEqual(Array.from({ length: total }, (_, i) => i + 1));
  });
});
