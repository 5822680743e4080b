import { query } from '../helpers/db-query';
import { startTestApp, type TestApp } from '../helpers/test-app';
import { createTestEnv, waitFor, type TestEnv } from '../helpers/test-env';
import { cleanupApi, metric, QUIET_CRONS, scrape } from '../integration/cleanup/cleanup-api';

/** Done outbox rows seeded: enough for a run to take a moment, so the two requests overlap it. */
const ROWS = 30_000;
const SESSION = '1a000000-0000-4000-8000-000000000001';

/**
 * Two worker replicas on one database and one Redis: a run asked for on both
 * at once happens once (the other gets 409, or finds nothing left when it
 * comes after), its rows are counted once across the replicas, and both
 * replicas answer GET /api/cleanup the same (the job state is in Redis).
 */
describe('cleanup across replicas: one run at a time', () => {
  let env: TestEnv;
  const apps: TestApp[] = [];

  beforeAll(async () => {
    env = await createTestEnv({ APP_ROLE: 'worker', ...QUIET_CRONS });
    for (const id of ['cleanup-w1', 'cleanup-w2']) apps.push(await startTestApp({ APP_ROLE: 'worker', INSTANCE_ID: id, ...QUIET_CRONS }, env));
    // Both boot runs of expire-pending are over (one ran, or both did one after the other).
    await waitFor(async () => {
      const job = await cleanupApi(apps[0]!).job('expire-pending');
      return job.lastRunAt !== null && !job.running;
    }, 'the boot runs of expire-pending');
    await query(
      env.databaseUrl,
      `INSERT INTO "Session" ("id", "name", "updatedAt") VALUES ('${SESSION}', 'cluster-cleanup', now());
       INSERT INTO "Message" ("id", "sessionId", "chatId", "direction", "type", "status", "createdAt", "updatedAt")
         SELECT md5('m' || i)::uuid, '${SESSION}', 'chat-' || (i % 50), 'OUTBOUND', 'text', 'SENT', timezone('UTC', now()) - interval '3 hours', timezone('UTC', now()) - interval '3 hours'
         FROM generate_series(1, ${ROWS}) i;
       INSERT INTO "MessageQueueItem" ("id", "sessionId", "chatId", "messageId", "status", "createdAt", "updatedAt")
         SELECT md5('q' || i)::uuid, '${SESSION}', 'chat-' || (i % 50), md5('m' || i)::uuid, 'COMPLETED', timezone('UTC', now()) - interval '3 hours', timezone('UTC', now()) - interval '2 hours'
         FROM generate_series(1, ${ROWS}) i;`,
    );
  });
  afterAll(async () => {
    for (const app of apps) await app.close().catch(() => undefined);
    await env?.cleanup();
  });

  it('POST run on both replicas at once: one run, every row deleted once, counted once; both replicas report it', async () => {
    const since = new Date();
    const answers = await Promise.all(apps.map((app) => cleanupApi(app).run('processed')));
    const statuses = answers.map((a) => a.status).sort();
    expect([
      [202, 409],
      [202, 202],
    ]).toContainEqual(statuses);
    if (statuses[1] === 409) expect(answers.find((a) => a.status === 409)!.body).toMatchObject({ statusCode: 409, error: 'Conflict' });
    const run = await cleanupApi(apps[0]!).finishedSince('processed', since);
    // Every accepted run is over (with 202 and 202 the second came after the first and found nothing).
    const accepted = statuses.filter((s) => s === 202).length;
    const sum = (texts: string[], name: string) => texts.reduce((total, text) => total + metric(text, name, { job: 'processed' }), 0);
    const texts = await waitFor(async () => {
      const scraped = await Promise.all(apps.map(scrape));
      return sum(scraped, 'zaphub_cleanup_duration_seconds_count') === accepted ? scraped : null;
    }, `${accepted} finished runs in the metrics`);
    expect(sum(texts, 'zaphub_cleanup_rows_total')).toBe(ROWS);
    expect((await query<{ n: string }>(env.databaseUrl, `SELECT count(*) AS n FROM "MessageQueueItem"`))[0]!.n).toBe('0');
    if (statuses[1] === 409) expect(run).toMatchObject({ lastRows: ROWS, lastError: null });

    // Every replica answers the same: the state is in Redis, not in the process that ran the job.
    const [list1, list2] = await Promise.all(apps.map((app) => cleanupApi(app).list()));
    expect(list1).toEqual(list2);
    expect(list1!.find((j) => j.job === 'processed')!.lastRunBy).toMatch(/^cleanup-w[12]$/);
    // The messages stay: only their done outbox rows went.
    expect((await query<{ n: string }>(env.databaseUrl, `SELECT count(*) AS n FROM "Message"`))[0]!.n).toBe(String(ROWS));
  });
});
