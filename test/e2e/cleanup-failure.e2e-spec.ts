import { query } from '../helpers/db-query';
import { TcpProxy } from '../helpers/tcp-proxy';
import { startTestApp, type TestApp } from '../helpers/test-app';
import { createTestEnv, waitFor, type TestEnv } from '../helpers/test-env';
import { cleanupApi, metric, QUIET_CRONS, scrape } from '../integration/cleanup/cleanup-api';

const SESSION = '2a000000-0000-4000-8000-000000000001';
const ROWS = 10;

/**
 * A run that fails (PostgreSQL cut through a TCP proxy, as in
 * database-down.e2e-spec.ts) is recorded and counted, the process keeps
 * serving, and the next run, once PostgreSQL is back, does the work.
 */
describe('cleanup: a failing run', () => {
  let env: TestEnv;
  let pg: TcpProxy;
  let t: TestApp;

  beforeAll(async () => {
    env = await createTestEnv({ ...QUIET_CRONS });
    const db = new URL(env.databaseUrl);
    pg = await TcpProxy.start(db.hostname, Number(db.port || 5432));
    db.hostname = '127.0.0.1';
    db.port = String(pg.port);
    t = await startTestApp({ ...QUIET_CRONS, DATABASE_URL: db.toString() }, env);
    await waitFor(async () => {
      const job = await cleanupApi(t).job('expire-pending');
      return job.lastRunAt !== null && !job.running;
    }, 'the boot run of expire-pending');
    // Seeded directly, not through the proxy.
    await query(
      env.databaseUrl,
      `INSERT INTO "Session" ("id", "name", "updatedAt") VALUES ('${SESSION}', 'failing-cleanup', now());
       INSERT INTO "Message" ("id", "sessionId", "chatId", "direction", "type", "status", "createdAt", "updatedAt")
         SELECT md5('m' || i)::uuid, '${SESSION}', 'chat', 'OUTBOUND', 'text', 'SENT', timezone('UTC', now()) - interval '3 hours', timezone('UTC', now()) - interval '3 hours'
         FROM generate_series(1, ${ROWS}) i;
       INSERT INTO "MessageQueueItem" ("id", "sessionId", "chatId", "messageId", "status", "createdAt", "updatedAt")
         SELECT md5('q' || i)::uuid, '${SESSION}', 'chat', md5('m' || i)::uuid, 'COMPLETED', timezone('UTC', now()) - interval '3 hours', timezone('UTC', now()) - interval '2 hours'
         FROM generate_series(1, ${ROWS}) i;`,
    );
  });

  afterAll(async () => {
    await pg?.restore();
    await t?.close();
    await waitFor(() => (pg?.connections ?? 0) === 0, 'connections closed', 5000).catch(() => undefined);
    await pg?.close();
    await env?.cleanup();
  });

  it('records the error and counts the failure; the process keeps serving; the next run succeeds', async () => {
    const cleanup = cleanupApi(t);
    await pg.cut();
    const failed = await cleanup.runAndWait('processed');
    expect(failed).toMatchObject({ lastRows: 0, lastError: 'Database unavailable, retry later', lastSuccessAt: null, running: false });
    const afterFailure = await scrape(t);
    expect(metric(afterFailure, 'zaphub_cleanup_failures_total', { job: 'processed' })).toBe(1);
    expect(metric(afterFailure, 'zaphub_cleanup_duration_seconds_count', { job: 'processed' })).toBe(1);
    expect((await t.http.get('/health/live')).status).toBe(200);
    expect((await query<{ n: string }>(env.databaseUrl, `SELECT count(*) AS n FROM "MessageQueueItem"`))[0]!.n).toBe(String(ROWS));

    await pg.restore();
    const ok = await cleanup.runAndWait('processed');
    expect(ok).toMatchObject({ lastRows: ROWS, lastError: null, lastSuccessAt: expect.any(String) });
    expect(new Date(ok.lastRunAt!).getTime()).toBeGreaterThan(new Date(failed.lastRunAt!).getTime());
    const afterSuccess = await scrape(t);
    expect(metric(afterSuccess, 'zaphub_cleanup_failures_total', { job: 'processed' })).toBe(1);
    expect(metric(afterSuccess, 'zaphub_cleanup_rows_total', { job: 'processed' })).toBe(ROWS);
    expect(metric(afterSuccess, 'zaphub_cleanup_last_success_timestamp_seconds', { job: 'processed' })).toBeCloseTo(new Date(ok.lastSuccessAt!).getTime() / 1000, 1);
    expect((await query<{ n: string }>(env.databaseUrl, `SELECT count(*) AS n FROM "MessageQueueItem"`))[0]!.n).toBe('0');
  });
});
