import { authRowCount, query } from '../helpers/db-query';
import { sessionsApi } from '../helpers/sessions-api';
import { startTestApp, type TestApp } from '../helpers/test-app';

/**
 * A realistic full pool, with the default status debounce: the QUEUED FIFO
 * must get a freed slot even when the running sessions outnumber any page of
 * adoption candidates (the candidates query used to apply its limit before
 * leaving out running sessions, so a QUEUED one waited forever).
 */
describe('a full pool (MAX_SESSIONS=20)', () => {
  let t: TestApp;
  let api: ReturnType<typeof sessionsApi>;
  const running = Array.from({ length: 20 }, (_, i) => `full-${String(i).padStart(2, '0')}`);

  beforeAll(async () => {
    t = await startTestApp({ SANDBOX: 'true', MAX_SESSIONS: '20' });
    api = sessionsApi(t);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('20 running + 2 queued: stopping one running session starts the oldest queued one', async () => {
    // Pair in small batches: 20 concurrent first logins are slow on a 2-core machine.
    for (let i = 0; i < running.length; i += 5) {
      const batch = running.slice(i, i + 5);
      await Promise.all(batch.map((name) => api.create(name)));
      await Promise.all(batch.map((name, j) => api.pair(name, `55119800000${String(i + j).padStart(2, '0')}`)));
    }
    await api.create('waiting-1');
    await api.waitForStatus('waiting-1', 'QUEUED');
    await api.create('waiting-2');
    await api.waitForStatus('waiting-2', 'QUEUED');
    const pool = (await api.pool()).body;
    expect(pool).toMatchObject({ active: 20, max: 20, waiting: ['waiting-1', 'waiting-2'] });
    expect((await api.session('waiting-2')).pool.position).toBe(2);

    expect((await api.action('full-07', 'stop')).status).toBe(202);
    await api.waitForStatus('full-07', 'STOPPED');
    await api.pair('waiting-1', '5511980000099');
    expect((await api.session('waiting-2')).status).toBe('QUEUED');
    expect((await api.pool()).body).toMatchObject({ active: 20, max: 20, waiting: ['waiting-2'] });
    // The slot went to the head of the FIFO; queuedAt is cleared once it runs.
    const [row] = await query<{ queuedAt: Date | null }>(t.env.databaseUrl, `SELECT "queuedAt" FROM "Session" WHERE name = 'waiting-1'`);
    expect(row!.queuedAt).toBeNull();
    expect((await authRowCount(t.env.databaseUrl, 'waiting-1')).creds).toBe(1);
  }, 240_000);
});

/**
 * A FAILED session whose circuit opened gives its slot back at once (it used
 * to keep it until its trial, while QUEUED sessions waited).
 */
describe('an open circuit releases the pool slot (MAX_SESSIONS=1)', () => {
  let t: TestApp;
  let api: ReturnType<typeof sessionsApi>;

  beforeAll(async () => {
    t = await startTestApp({
      SANDBOX: 'true',
      MAX_SESSIONS: '1',
      STATUS_DEBOUNCE_MS: '0',
      RECONNECT_BASE_MS: '20',
      RECONNECT_MAX_MS: '100',
      CIRCUIT_BREAKER_THRESHOLD: '2',
      CIRCUIT_BREAKER_RESET_MS: '600000',
    });
    api = sessionsApi(t);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('the queued session runs as soon as the running one fails for good', async () => {
    await api.create('breaks');
    await api.pair('breaks', '5511981000001');
    await api.create('next');
    await api.waitForStatus('next', 'QUEUED');
    // Its credentials become unreadable (no key for an encrypted value): every reconnect attempt fails.
    await query(t.env.databaseUrl, `UPDATE "AuthCreds" SET data = 'enc:v2:00000000:AAAA:AAAA:AAAA' WHERE "sessionId" = (SELECT id FROM "Session" WHERE name = 'breaks')`);
    await api.disconnect('breaks', 428);
    const failed = await api.waitForStatus('breaks', 'FAILED');
    expect(failed.circuit).toEqual({ state: 'OPEN', failures: 2 });
    expect(failed.reconnect.nextAttemptAt).not.toBeNull();
    await api.waitForStatus('next', 'SCAN_QR');
    expect((await api.pool()).body).toMatchObject({ active: 1, max: 1, waiting: [] });
    expect((await api.session('breaks')).status).toBe('FAILED');
  });
});
