import { Queue, type Job } from 'bullmq';
import { query } from '../../helpers/db-query';
import { startCompiledApp, callApp, type RunningApp } from '../../helpers/running-app';
import { createTestEnv, waitFor, type TestEnv } from '../../helpers/test-env';
import { WebhookReceiver, type ReceivedWebhook } from '../../helpers/webhook-receiver';

/**
 * kill -9 of the compiled application (a real child process) in the middle of
 * a webhook retry schedule: after a restart on the same database and Redis the
 * deliveries go on and succeed; no event is lost, none is delivered twice, and
 * every request the receiver saw is an attempt counted on its delivery row.
 *
 * The receiver answers 500 until the kill, so every delivery is mid-schedule
 * (attempts >= 2, its next attempt a delayed BullMQ trigger). The kill lands
 * between attempts, on purpose: the webhook-delivery queue is paused (BullMQ's
 * global pause, from this process) and the kill waits until no trigger is
 * active. A kill in the middle of an attempt leaves a claimed row that is due
 * again only after WEBHOOK_TIMEOUT_MS + 30 s (the claim, by design), which a
 * test of well under a minute cannot wait for.
 *
 * After the kill some triggers are removed from Redis as a kill between "record
 * the attempt" and "enqueue the next trigger" would lose them: those deliveries
 * must come back through the reconciler (due PENDING rows, 5 s grace), the
 * others through their surviving delayed jobs.
 *
 * The end is awaited, not slept for: every event of the log has one DELIVERED
 * delivery with a 2xx at the receiver, and the webhook-delivery queue is empty
 * (so a duplicate attempt cannot still be on its way when the requests are
 * checked).
 */
const QUEUE = 'webhook-delivery'; // QueueName.WebhookDelivery
const PHONE_A = '5511900000001';
const PHONE_B = '5511900000002';

type App = RunningApp;

interface Row {
  eventId: string;
  sessionName: string;
  sequence: number;
  type: string;
  deliveryId: string | null;
  status: string | null;
  attempts: number | null;
  /** nextAttemptAt in epoch ms (read as UTC, like Prisma writes it). */
  nextAttemptMs: number | null;
  deliveries: number;
}

describe('webhook deliveries survive kill -9 mid retry schedule (compiled app as a process)', () => {
  let env: TestEnv | undefined;
  let receiver: WebhookReceiver | undefined;
  let queue: Queue | undefined;
  const apps: App[] = [];

  afterAll(async () => {
    for (const app of apps) {
      if (!app.proc.hasExited()) app.proc.child.kill('SIGKILL');
      await app.proc.exited;
    }
    await queue?.close();
    await receiver?.stop();
    await env?.cleanup();
  });

  async function start(label: string): Promise<App> {
    return startCompiledApp(label, env!.env, (app) => apps.push(app));
  }

  const call = callApp;

  async function statusOf(app: App, name: string): Promise<string> {
    const res = await call(app, 'GET', `/api/sessions/${name}`);
    if (res.status !== 200) throw new Error(`GET session ${name}: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body!.status as string;
  }

  /** Creates and starts a session, scans its QR with the sandbox phone (409: the QR rotated, scan again) and waits for WORKING. */
  async function pair(app: App, name: string, phone: string): Promise<void> {
    const created = await call(app, 'POST', '/api/sessions', { name });
    expect(created.status).toBe(201);
    let last = 'none yet';
    await waitFor(
      async () => {
        if ((await statusOf(app, name)) !== 'SCAN_QR') return false;
        const scan = await call(app, 'POST', `/api/sandbox/sessions/${name}/scan`, { phone });
        last = `${scan.status} ${JSON.stringify(scan.body)}`;
        if (scan.status === 200) return true;
        if (scan.status !== 409) throw new Error(`scan ${name}: ${last}`);
        return false;
      },
      () => `a successful scan of ${name} (last answer: ${last})`,
      30000,
      100,
    );
    await waitFor(async () => (await statusOf(app, name)) === 'WORKING', `${name} WORKING`, 30000, 50);
  }

  /** Every event of the log with its deliveries (one statement: one consistent snapshot). */
  const snapshot = () =>
    query<Row>(
      env!.databaseUrl,
      `SELECT e.id AS "eventId", e."sessionName", e.sequence, e.type,
              d.id AS "deliveryId", d.status::text AS status, d.attempts,
              (EXTRACT(EPOCH FROM d."nextAttemptAt") * 1000)::float8 AS "nextAttemptMs",
              count(*) OVER (PARTITION BY e.id) AS deliveries
         FROM "Event" e LEFT JOIN "WebhookDelivery" d ON d."eventId" = e.id
        ORDER BY e."sessionName", e.sequence`,
    ).then((rows) => rows.map((r) => ({ ...r, deliveries: r.deliveryId ? Number(r.deliveries) : 0 })));

  const requestsFor = (id: string, requests: ReceivedWebhook[] = receiver!.requests): ReceivedWebhook[] =>
    requests.filter((r) => r.headers['webhook-id'] === id);
  const isOk = (r: ReceivedWebhook) => r.status !== undefined && r.status >= 200 && r.status < 300;

  it('goes on after a restart and delivers every event exactly once', async () => {
    const t0 = Date.now();
    env = await createTestEnv({
      SANDBOX: 'true',
      WEBHOOK_ALLOW_PRIVATE: 'true',
      WEBHOOK_RETRY_BASE_MS: '300',
      WEBHOOK_RETRY_MAX_DELAY_MS: '1000',
      WEBHOOK_MAX_ATTEMPTS: '100', // >= 50 s of schedule: nothing can end FAILED before the restart
      WEBHOOK_TIMEOUT_MS: '2000',
      WEBHOOK_RECONCILE_INTERVAL_MS: '500',
    });
    receiver = await WebhookReceiver.start();
    receiver.respond = () => 500;
    queue = new Queue(QUEUE, { connection: { url: env.env.REDIS_URL }, prefix: env.redisPrefix });

    // --- first process: events happen for real, every delivery fails a few times ---
    const first = await start('first process');
    const t1 = Date.now();
    const hook = await call(first, 'POST', '/api/webhooks', { url: receiver.url, events: ['*'] });
    expect(hook.status).toBe(201);
    await pair(first, 'crash-a', PHONE_A);
    await pair(first, 'crash-b', PHONE_B);
    // Every event so far has failed at least twice (its schedule is under way).
    await waitFor(
      async () => {
        const rows = await snapshot();
        return rows.every((r) => r.deliveries === 1 && r.status === 'PENDING' && r.attempts! >= 2 && requestsFor(r.eventId).length >= 2);
      },
      'every delivery to have failed twice',
    );

    // --- kill -9 between attempts ---
    await queue.pause();
    await waitFor(async () => (await queue!.getActiveCount()) === 0, 'no delivery attempt running');
    const atKill = await snapshot();
    const killedAt = Date.now();
    const requestsAtKill = receiver.requests.length;
    first.proc.child.kill('SIGKILL');
    const exit = await first.proc.exited;
    expect(exit.signal).toBe('SIGKILL');
    const t2 = Date.now();

    expect(atKill.length).toBeGreaterThanOrEqual(6);
    expect(new Set(atKill.map((r) => r.sessionName))).toEqual(new Set(['crash-a', 'crash-b']));
    for (const row of atKill) {
      expect({ event: row.eventId, deliveries: row.deliveries, status: row.status }).toEqual({ event: row.eventId, deliveries: 1, status: 'PENDING' });
      // Waiting for a retry (due within WEBHOOK_RETRY_MAX_DELAY_MS), not claimed by an attempt (due 32 s ahead).
      expect(row.nextAttemptMs!).toBeLessThan(killedAt + 2000);
      // Every attempt made so far is on the row: what the receiver saw, all answered 500.
      expect(requestsFor(row.eventId).map((r) => r.status)).toEqual(Array(row.attempts).fill(500));
    }
    const failedBefore = atKill.filter((r) => r.attempts! >= 1);
    expect(failedBefore.length).toBeGreaterThanOrEqual(6);

    // Each PENDING delivery has its trigger in Redis (delivery-<id>-<attempts>); lose every other one.
    const jobs = (await queue.getJobs(['delayed', 'wait', 'waiting', 'prioritized'])) as Job[];
    const byId = new Map(jobs.map((j) => [j.id, j]));
    const lost = new Set<string>();
    atKill.forEach((row, i) => {
      const job = byId.get(`delivery-${row.deliveryId}-${row.attempts}`);
      expect({ delivery: row.deliveryId, trigger: Boolean(job) }).toEqual({ delivery: row.deliveryId, trigger: true });
      if (i % 2 === 1) lost.add(row.deliveryId!);
    });
    for (const id of lost) {
      const row = atKill.find((r) => r.deliveryId === id)!;
      await byId.get(`delivery-${id}-${row.attempts}`)!.remove();
    }
    await queue.resume();

    // --- second process on the same database and Redis; the receiver accepts now ---
    receiver.respond = () => 200;
    const second = await start('second process');
    const t3 = Date.now();

    // Every event of the log (including any the restart itself causes) delivered, and no trigger left.
    // Order matters: an empty queue first (every attempt triggered so far has ended, so its request is
    // with the receiver: a duplicate cannot still be on its way), then the requests are copied, then the
    // rows read: every request in the copy is of an event in the snapshot, and a row DELIVERED there has
    // its 2xx in the copy.
    let final: Row[] = [];
    let seen: ReceivedWebhook[] = [];
    const triggersLeft = async () =>
      Object.values(await queue!.getJobCounts('wait', 'waiting', 'prioritized', 'active', 'delayed', 'waiting-children')).reduce((a, b) => a + b, 0);
    await waitFor(
      async () => {
        if ((await triggersLeft()) > 0) return false;
        seen = [...receiver!.requests];
        final = await snapshot();
        return final.every((r) => r.deliveries === 1 && r.status === 'DELIVERED' && requestsFor(r.eventId, seen).some(isOk));
      },
      () => `every event delivered (still not: ${JSON.stringify(final.filter((r) => r.status !== 'DELIVERED'))})`,
      25000,
    );
    const t4 = Date.now();
    expect(second.proc.hasExited()).toBe(false);

    const events = new Map(final.map((r) => [r.eventId, r]));
    // Nothing the receiver accepted is unknown to the log, and nothing was accepted twice.
    const accepted = seen.filter(isOk);
    expect(accepted.map((r) => r.headers['webhook-id']).filter((id) => !events.has(id as string))).toEqual([]);
    expect(accepted.length).toBe(new Set(accepted.map((r) => r.headers['webhook-id'])).size);
    expect(accepted.length).toBe(final.length);
    for (const row of final) {
      const mine = requestsFor(row.eventId, seen);
      // The retries after 500s, then one 2xx, and one counted attempt per request.
      expect({ event: row.eventId, statuses: mine.map((r) => r.status) }).toEqual({
        event: row.eventId,
        statuses: [...Array(row.attempts! - 1).fill(500), 200],
      });
      expect(mine[mine.length - 1]!.json).toMatchObject({ id: row.eventId, event: row.type, session: row.sessionName, sequence: row.sequence });
      expect(mine.every((r) => r.body === mine[0]!.body)).toBe(true); // the same envelope on every attempt
    }
    // The deliveries that failed before the kill went on after it: more attempts, the 2xx from the second process.
    for (const before of failedBefore) {
      const after = events.get(before.eventId)!;
      expect(after.attempts).toBeGreaterThan(before.attempts!);
      expect(after.attempts).toBeGreaterThanOrEqual(2);
      const ok = requestsFor(before.eventId, seen).find(isOk)!;
      expect(ok.receivedAt).toBeGreaterThanOrEqual(t2);
    }
    // Sequences per session complete in what was accepted: 1..N, N the session's events.
    for (const session of ['crash-a', 'crash-b']) {
      const sequences = accepted
        .filter((r) => r.json.session === session)
        .map((r) => r.json.sequence)
        .sort((a, b) => a - b);
      expect(sequences).toEqual(Array.from({ length: final.filter((r) => r.sessionName === session).length }, (_, i) => i + 1));
    }
    // Nothing of those events left PENDING or FAILED (checked above), and no delivery outside the event log.
    const strays = await query(env.databaseUrl, `SELECT id, status::text FROM "WebhookDelivery" WHERE "eventId" IS NULL`);
    expect(strays).toEqual([]);

    process.stdout.write(
      `delivery-crash: ${final.length} events (${atKill.length} before the kill, ${lost.size} triggers dropped), ` +
        `${requestsAtKill} failed requests before the kill, ${seen.length} in all; ` +
        `env+boot ${t1 - t0} ms, events+failures ${t2 - t1} ms, restart ${t3 - t2} ms, redelivery ${t4 - t3} ms\n`,
    );
  });
});
