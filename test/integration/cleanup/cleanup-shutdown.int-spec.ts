import { query } from '../../helpers/db-query';
import { startTestApp, type TestApp } from '../../helpers/test-app';
import { createTestEnv, waitFor, type TestEnv } from '../../helpers/test-env';
import { cleanupApi, QUIET_CRONS } from './cleanup-api';

const SESSION = '3a000000-0000-4000-8000-000000000001';
const ROWS = 20_000;
/** Small batches: the run is hundreds of statements, so the shutdown lands in the middle of it. */
const BATCH = '100';

/**
 * Shutdown while a cleanup run is in progress: the run stops between two
 * batches, records where it stopped, releases its lock, and the app closes
 * promptly (before PostgreSQL does); the next run, on another app, finishes
 * the work.
 */
describe('cleanup run interrupted by a shutdown', () => {
  let env: TestEnv;
  let t: TestApp | null = null;

  beforeAll(async () => {
    env = await createTestEnv({ ...QUIET_CRONS, CLEANUP_BATCH_SIZE: BATCH });
    await query(
      env.databaseUrl,
      `INSERT INTO "Session" ("id", "name", "updatedAt") VALUES ('${SESSION}', 'shutdown-cleanup', now());
       INSERT INTO "Message" ("id", "sessionId", "chatId", "direction", "type", "status", "createdAt", "updatedAt")
         SELECT md5('m' || i)::uuid, '${SESSION}', 'chat', 'OUTBOUND', 'text', 'SENT', timezone('UTC', now()) - interval '3 hours', timezone('UTC', now()) - interval '3 hours'
         FROM generate_series(1, ${ROWS}) i;
       INSERT INTO "MessageQueueItem" ("id", "sessionId", "chatId", "messageId", "status", "createdAt", "updatedAt")
         SELECT md5('q' || i)::uuid, '${SESSION}', 'chat', md5('m' || i)::uuid, 'COMPLETED', timezone('UTC', now()) - interval '3 hours', timezone('UTC', now()) - interval '2 hours'
         FROM generate_series(1, ${ROWS}) i;`,
    );
  });
  afterAll(async () => {
    await t?.close().catch(() => undefined);
    await env?.cleanup();
  });

  const left = async () => Number((await query<{ n: string }>(env.databaseUrl, `SELECT count(*) AS n FROM "MessageQueueItem"`))[0]!.n);

  it('stops between batches, records the interruption, frees the lock; the next run finishes', async () => {
    t = await startTestApp({ ...QUIET_CRONS, CLEANUP_BATCH_SIZE: BATCH }, env);
    const first = cleanupApi(t);
    expect((await first.run('processed')).status).toBe(202);
    await waitFor(async () => (await left()) < ROWS, 'the run deleting rows');

    const closing = Date.now();
    await t.close();
    t = null;
    expect(Date.now() - closing).toBeLessThan(10_000);
    const remaining = await left();
    expect(remaining).toBeGreaterThan(0);

    t = await startTestApp({ ...QUIET_CRONS, CLEANUP_BATCH_SIZE: BATCH }, env);
    const second = cleanupApi(t);
    const interrupted = await second.job('processed');
    expect(interrupted).toMatchObject({ running: false, lastError: 'interrupted: the process is shutting down', lastSuccessAt: null, lastRows: ROWS - remaining });

    const done = await second.runAndWait('processed');
    expect(done).toMatchObject({ lastError: null, lastRows: remaining });
    expect(await left()).toBe(0);
  });
});
