import { Queue, Worker } from 'bullmq';
import IORedis from 'ioredis';
import { query } from '../helpers/db-query';
import { startTestApp, type TestApp } from '../helpers/test-app';
import { waitFor } from '../helpers/test-env';
import { cleanupApi, metric, QUIET_CRONS, scrape } from '../integration/cleanup/cleanup-api';

/**
 * The cleanup jobs against rows seeded with old timestamps in every state
 * (SQL, so the ages are exact): one run of each job, asked for through
 * POST /api/cleanup/:job/run and followed through GET /api/cleanup, deletes,
 * expires and keeps exactly the right rows (with the message.expired events);
 * a second run changes nothing. Retentions are the defaults: processed 60 min,
 * pending 24 h, history 7 days.
 */

const A = '0a000000-0000-4000-8000-000000000001';
const B = '0b000000-0000-4000-8000-000000000002';
const WEBHOOK = '0c000000-0000-4000-8000-000000000003';
/** Message ids: m(n) = ...0000000000nn. */
const m = (n: number) => `0d000000-0000-4000-8000-0000000000${String(n).padStart(2, '0')}`;
const q = (n: number) => `0e000000-0000-4000-8000-0000000000${String(n).padStart(2, '0')}`;
const CHAT = '5511999990000@s.whatsapp.net';

/** A timestamp `ago` before now, in UTC like Prisma writes them (columns are timestamp without time zone). */
const ago = (interval: string) => `timezone('UTC', now()) - interval '${interval}'`;

function message(n: number, session: string, status: string, created: string, updated = created, direction = 'OUTBOUND'): string {
  return `INSERT INTO "Message" ("id", "sessionId", "chatId", "direction", "type", "status", "text", "createdAt", "updatedAt")
    VALUES ('${m(n)}', '${session}', '${CHAT}', '${direction}', 'text', '${status}', 'text ${n}', ${ago(created)}, ${ago(updated)});`;
}
function item(n: number, session: string, status: string, created: string, updated = created, lockedAt: string | null = null): string {
  return `INSERT INTO "MessageQueueItem" ("id", "sessionId", "chatId", "messageId", "status", "createdAt", "updatedAt", "lockedBy", "lockedAt")
    VALUES ('${q(n)}', '${session}', '${CHAT}', '${m(n)}', '${status}', ${ago(created)}, ${ago(updated)}, ${lockedAt ? "'some-worker'" : 'NULL'}, ${lockedAt ? ago(lockedAt) : 'NULL'});`;
}
function media(n: number, created: string): string {
  return `INSERT INTO "Media" ("messageId", "mimetype", "size", "sha256", "data", "createdAt") VALUES ('${m(n)}', 'image/png', 4, 'x', '\\x01020304', ${ago(created)});`;
}
function key(name: string, session: string, n: number, created: string): string {
  return `INSERT INTO "IdempotencyKey" ("sessionId", "key", "requestHash", "messageId", "response", "createdAt") VALUES ('${session}', '${name}', 'h', '${m(n)}', '{}', ${ago(created)});`;
}

const SEED = [
  `INSERT INTO "Session" ("id", "name", "updatedAt") VALUES ('${A}', 'cleanup-a', now()), ('${B}', 'cleanup-b', now());`,
  // A global endpoint, disabled: old deliveries to prune, no new ones (and no HTTP) for the expiry's events.
  `INSERT INTO "Webhook" ("id", "url", "events", "status", "secret", "updatedAt") VALUES ('${WEBHOOK}', 'http://127.0.0.1:9/hook', '{*}', 'DISABLED', 'whsec_x', now());`,
  // Outbox.
  message(1, A, 'QUEUED', '25 hours'), item(1, A, 'PENDING', '25 hours'), // pending too long: expired
  message(2, A, 'QUEUED', '1 hour'), item(2, A, 'PENDING', '1 hour'), // pending, young: kept
  message(3, B, 'QUEUED', '8 days'), item(3, B, 'PENDING', '8 days'), // older than the history too: expired, never pruned
  message(4, B, 'SENDING', '25 hours'), item(4, B, 'PROCESSING', '25 hours', '1 minute', '1 minute'), // being sent: left alone
  message(5, A, 'SENT', '3 hours'), item(5, A, 'COMPLETED', '3 hours', '2 hours'), // done long ago: row deleted
  message(6, A, 'SENT', '20 minutes'), item(6, A, 'COMPLETED', '20 minutes', '10 minutes'), // done recently: kept
  message(7, A, 'FAILED', '3 hours'), item(7, A, 'FAILED', '3 hours', '2 hours'), // failed for good long ago: row deleted
  message(8, A, 'FAILED', '20 minutes'), item(8, A, 'FAILED', '20 minutes', '10 minutes'), // failed recently: kept
  message(9, A, 'EXPIRED', '3 hours'), item(9, A, 'FAILED', '3 hours', '2 hours'), // expired long ago: row deleted
  // History.
  message(10, A, 'SENT', '8 days'), media(10, '8 days'), key('k10', A, 10, '8 days'), // old: pruned with its file and key
  message(11, A, 'RECEIVED', '8 days', '8 days', 'INBOUND'), // old inbound: pruned
  message(12, A, 'SENT', '6 days'), // within the retention: kept
  message(13, A, 'FAILED', '8 days'), item(13, A, 'FAILED', '8 days'), // old failed: its row (processed), then itself (history)
  message(14, A, 'READ', '8 days', '1 day'), // old but changed yesterday: kept
  message(15, A, 'SENT', '1 day'), key('k15', A, 15, '8 days'), // old key of a young message: the key goes
  message(16, B, 'CANCELED', '10 days'), media(16, '10 days'), // old with a file: pruned
  `INSERT INTO "Event" ("id", "sessionId", "sessionName", "sequence", "type", "data", "createdAt") VALUES
    ('evt_old', '${A}', 'cleanup-a', 1, 'message.sent', '{}', ${ago('8 days')}),
    ('evt_new', '${A}', 'cleanup-a', 2, 'message.sent', '{}', ${ago('1 day')});`,
  `INSERT INTO "EventCounter" ("sessionId", "lastSequence") VALUES ('${A}', 2);`,
  `INSERT INTO "WebhookDelivery" ("id", "webhookId", "eventId", "sessionId", "eventType", "status", "createdAt") VALUES
    ('0f000000-0000-4000-8000-000000000001', '${WEBHOOK}', 'evt_old', '${A}', 'message.sent', 'DELIVERED', ${ago('8 days')}),
    ('0f000000-0000-4000-8000-000000000002', '${WEBHOOK}', 'evt_new', '${A}', 'message.sent', 'DELIVERED', ${ago('1 day')}),
    ('0f000000-0000-4000-8000-000000000003', '${WEBHOOK}', NULL, NULL, 'webhook.test', 'FAILED', ${ago('8 days')});`,
].join('\n');

interface Snapshot {
  items: Array<{ n: number; status: string }>;
  messages: Array<{ n: number; status: string; error: string | null }>;
  media: number[];
  keys: string[];
  events: Array<{ id: string; session: string; sequence: number; type: string }>;
  deliveries: number[];
}

describe('cleanup jobs: seeded rows of every age and state', () => {
  let t: TestApp;
  let cleanup: ReturnType<typeof cleanupApi>;
  const num = (id: string) => Number(id.slice(-2));

  async function snapshot(): Promise<Snapshot> {
    const url = t.env.databaseUrl;
    return {
      items: (await query<{ id: string; status: string }>(url, `SELECT "id"::text, "status"::text FROM "MessageQueueItem" ORDER BY "id"`)).map((r) => ({ n: num(r.id), status: r.status })),
      messages: (await query<{ id: string; status: string; error: string | null }>(url, `SELECT "id"::text, "status"::text, "error" FROM "Message" ORDER BY "id"`)).map((r) => ({
        n: num(r.id),
        status: r.status,
        error: r.error,
      })),
      media: (await query<{ id: string }>(url, `SELECT "messageId"::text AS id FROM "Media" ORDER BY 1`)).map((r) => num(r.id)),
      keys: (await query<{ key: string }>(url, `SELECT "key" FROM "IdempotencyKey" ORDER BY 1`)).map((r) => r.key),
      events: (await query<{ id: string; session: string; sequence: number; type: string }>(url, `SELECT "id", "sessionName" AS session, "sequence", "type" FROM "Event" ORDER BY "sessionName", "sequence"`)),
      deliveries: (await query<{ id: string }>(url, `SELECT "id"::text FROM "WebhookDelivery" ORDER BY 1`)).map((r) => num(r.id)),
    };
  }

  beforeAll(async () => {
    t = await startTestApp({ ...QUIET_CRONS });
    cleanup = cleanupApi(t);
    // The boot run of expire-pending (nothing to expire yet) is over before the rows exist.
    await waitFor(async () => {
      const job = await cleanup.job('expire-pending');
      return job.lastRunAt !== null && !job.running;
    }, 'the boot run of expire-pending');
    await query(t.env.databaseUrl, SEED);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('lists every job with its schedule and no run yet (expire-pending ran once at boot)', async () => {
    const list = await cleanup.list();
    expect(list.map((j) => j.job)).toEqual(['processed', 'expire-pending', 'history', 'jobs', 'flows', 'summary']);
    for (const job of list) {
      expect(job.nextRunAt).toBe(new Date(`${new Date().getUTCFullYear() + 1}-01-01T00:00:00.000Z`).toISOString());
      expect(job.running).toBe(false);
      if (job.job === 'expire-pending') expect(job).toMatchObject({ lastRows: 0, lastError: null, lastSuccessAt: expect.any(String), lastRunBy: t.env.config.INSTANCE_ID });
      else expect(job).toMatchObject({ lastRunAt: null, lastSuccessAt: null, lastRows: null, lastError: null });
    }
  });

  it('processed: deletes COMPLETED rows and FAILED rows of FAILED or EXPIRED messages done over an hour ago; a second run changes nothing', async () => {
    const before = await snapshot();
    const run = await cleanup.runAndWait('processed');
    expect(run).toMatchObject({ lastRows: 4, lastError: null });
    expect(new Date(run.lastSuccessAt!).getTime()).toBeGreaterThanOrEqual(new Date(run.lastRunAt!).getTime());
    const after = await snapshot();
    expect(after.items).toEqual(before.items.filter((i) => ![5, 7, 9, 13].includes(i.n)));
    expect(after.items.map((i) => i.n)).toEqual([1, 2, 3, 4, 6, 8]);
    // Only outbox rows: their messages stay.
    expect(after.messages).toEqual(before.messages);

    expect(await cleanup.runAndWait('processed')).toMatchObject({ lastRows: 0, lastError: null });
    expect(await snapshot()).toEqual(after);
  });

  it('history: prunes deliveries, events, keys, files and settled messages older than 7 days, keeps what is pending or changed since; a second run changes nothing', async () => {
    const before = await snapshot();
    const run = await cleanup.runAndWait('history');
    // 2 deliveries + 1 event + 2 keys + 2 files + 4 messages.
    expect(run).toMatchObject({ lastRows: 11, lastError: null });
    const after = await snapshot();
    expect(after.deliveries).toEqual([2]);
    expect(after.events.map((e) => e.id)).toEqual(['evt_new']);
    expect(after.keys).toEqual([]);
    expect(after.media).toEqual([]);
    expect(after.messages.map((x) => x.n)).toEqual(before.messages.map((x) => x.n).filter((n) => ![10, 11, 13, 16].includes(n)));
    // The 8-day-old message still waiting is not history: the expiry takes it.
    expect(after.messages.find((x) => x.n === 3)).toEqual({ n: 3, status: 'QUEUED', error: null });
    expect(after.items).toEqual(before.items);

    expect(await cleanup.runAndWait('history')).toMatchObject({ lastRows: 0, lastError: null });
    expect(await snapshot()).toEqual(after);
  });

  it('expire-pending: messages pending over 24 h become EXPIRED with message.expired in their session log, rows FAILED; a second run changes nothing', async () => {
    const before = await snapshot();
    const run = await cleanup.runAndWait('expire-pending');
    expect(run).toMatchObject({ lastRows: 2, lastError: null });
    const after = await snapshot();
    expect(after.items).toEqual([
      { n: 1, status: 'FAILED' },
      { n: 2, status: 'PENDING' },
      { n: 3, status: 'FAILED' },
      { n: 4, status: 'PROCESSING' },
      { n: 6, status: 'COMPLETED' },
      { n: 8, status: 'FAILED' },
    ]);
    const status = (s: Snapshot, n: number) => s.messages.find((x) => x.n === n);
    expect(status(after, 1)).toEqual({ n: 1, status: 'EXPIRED', error: 'Message expired' });
    expect(status(after, 3)).toEqual({ n: 3, status: 'EXPIRED', error: 'Message expired' });
    expect(status(after, 2)).toEqual(status(before, 2));
    expect(status(after, 4)).toEqual({ n: 4, status: 'SENDING', error: null });

    // The events, through the catch-up route: the message's view, as GET /api/messages/:id shows it.
    const events = async (session: string) => (await t.http.get(`/api/sessions/${session}/events`).set('X-Api-Key', t.apiKey)).body.items as Array<Record<string, unknown>>;
    const a = await events('cleanup-a');
    expect(a.map((e) => [e.sequence, e.event])).toEqual([
      [2, 'message.sent'],
      [3, 'message.expired'],
    ]);
    const b = await events('cleanup-b');
    expect(b.map((e) => [e.sequence, e.event])).toEqual([[1, 'message.expired']]);
    for (const [event, id] of [
      [a[1]!, m(1)],
      [b[0]!, m(3)],
    ] as const) {
      const shown = await t.http.get(`/api/messages/${id}`).set('X-Api-Key', t.apiKey);
      expect(shown.status).toBe(200);
      expect(event.data).toEqual(shown.body);
      expect(event.data).toMatchObject({ id, direction: 'outbound', status: 'EXPIRED', error: 'Message expired', sentAt: null });
    }

    expect(await cleanup.runAndWait('expire-pending')).toMatchObject({ lastRows: 0, lastError: null });
    expect(await snapshot()).toEqual(after);
    // An expired message is history from its expiry on, not from its creation: the next pruning keeps it.
    expect(await cleanup.runAndWait('history')).toMatchObject({ lastRows: 0 });
    expect(status(await snapshot(), 3)).toEqual({ n: 3, status: 'EXPIRED', error: 'Message expired' });
  });

  it('jobs: removes finished BullMQ jobs beyond their queue retention (completed 1 h, failed 7 days), keeps the others', async () => {
    const connection = { url: t.env.config.REDIS_URL, maxRetriesPerRequest: null };
    const name = 'maintenance-cleanup';
    const queue = new Queue(name, { connection, prefix: t.env.redisPrefix });
    const worker = new Worker(name, async (job) => {
      if (job.data.fail) throw new Error('planned failure');
    }, { connection, prefix: t.env.redisPrefix });
    const redis = new IORedis(t.env.config.REDIS_URL);
    try {
      // No removeOn* options on these jobs: BullMQ keeps them all; only the cleanup trims them.
      await queue.addBulk([1, 2, 3, 4, 5].map((i) => ({ name, data: { job: 'flows', fail: i > 3 }, opts: { jobId: `t-${i}`, attempts: 1 } })));
      await waitFor(async () => (await queue.getCompletedCount()) === 3 && (await queue.getFailedCount()) === 2, 'the jobs finished');
      // Finished long ago: the finished sets are ordered (and cleaned) by finish time.
      const setKey = (state: string) => `${t.env.redisPrefix}:${name}:${state}`;
      await redis.zadd(setKey('completed'), Date.now() - 2 * 3_600_000, 't-1', Date.now() - 3 * 3_600_000, 't-2');
      await redis.zadd(setKey('failed'), Date.now() - 8 * 86_400_000, 't-4');

      expect(await cleanup.runAndWait('jobs')).toMatchObject({ lastRows: 3, lastError: null });
      expect((await queue.getCompleted()).map((j) => j.id)).toEqual(['t-3']);
      expect((await queue.getFailed()).map((j) => j.id)).toEqual(['t-5']);
      expect(await cleanup.runAndWait('jobs')).toMatchObject({ lastRows: 0, lastError: null });
    } finally {
      await worker.close();
      await queue.close();
      redis.disconnect();
    }
  });

  it('flows and summary: report and succeed', async () => {
    expect(await cleanup.runAndWait('flows')).toMatchObject({ lastRows: 0, lastError: null });
    expect(await cleanup.runAndWait('summary')).toMatchObject({ lastRows: 0, lastError: null });
  });

  it('exports rows, durations and last success per job', async () => {
    const text = await scrape(t);
    expect(metric(text, 'zaphub_cleanup_rows_total', { job: 'processed' })).toBe(4);
    expect(metric(text, 'zaphub_cleanup_rows_total', { job: 'history' })).toBe(11);
    expect(metric(text, 'zaphub_cleanup_rows_total', { job: 'expire-pending' })).toBe(2);
    expect(metric(text, 'zaphub_cleanup_rows_total', { job: 'jobs' })).toBe(3);
    expect(metric(text, 'zaphub_cleanup_failures_total', { job: 'processed' })).toBe(0);
    expect(metric(text, 'zaphub_cleanup_duration_seconds_count', { job: 'processed' })).toBe(2);
    // Boot run + 2 runs.
    expect(metric(text, 'zaphub_cleanup_duration_seconds_count', { job: 'expire-pending' })).toBe(3);
    const lastSuccess = metric(text, 'zaphub_cleanup_last_success_timestamp_seconds', { job: 'history' });
    expect(lastSuccess).toBeGreaterThan(Date.now() / 1000 - 120);
    expect(lastSuccess).toBeLessThanOrEqual(Date.now() / 1000);
  });

  it('409 while the job runs (its lock is held), 202 once free; 404 for an unknown job; 401 without the key', async () => {
    const lock = `${t.env.redisPrefix}:lock:cleanup-history`;
    const redis = new IORedis(t.env.config.REDIS_URL);
    try {
      await redis.set(lock, 'another-replica', 'PX', 30_000);
      const busy = await cleanup.run('history');
      expect(busy.status).toBe(409);
      expect(busy.body).toMatchObject({ statusCode: 409, error: 'Conflict', message: expect.stringContaining('history'), requestId: expect.any(String) });
      expect(await cleanup.job('history')).toMatchObject({ running: true });
      await redis.del(lock);
      expect(await cleanup.runAndWait('history')).toMatchObject({ lastError: null });
    } finally {
      redis.disconnect();
    }
    const unknown = await cleanup.run('nope');
    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatchObject({ statusCode: 404, error: 'Not Found', message: expect.stringContaining('processed, expire-pending') });
    expect((await t.http.get('/api/cleanup')).status).toBe(401);
    expect((await t.http.post('/api/cleanup/processed/run')).status).toBe(401);
  });
});
