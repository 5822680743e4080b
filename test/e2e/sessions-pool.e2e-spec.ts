import { sessionsApi } from '../helpers/sessions-api';
import { startTestApp, type TestApp } from '../helpers/test-app';

describe('session pool (MAX_SESSIONS=2)', () => {
  let t: TestApp;
  let api: ReturnType<typeof sessionsApi>;

  beforeAll(async () => {
    t = await startTestApp({ SANDBOX: 'true', MAX_SESSIONS: '2', STATUS_DEBOUNCE_MS: '0' });
    api = sessionsApi(t);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('queues the third session in FIFO order and starts it when a slot frees', async () => {
    await api.create('p1');
    await api.pair('p1', '5511910000001');
    await api.create('p2');
    await api.pair('p2', '5511910000002');
    await api.create('p3');
    const queued = await api.waitForStatus('p3', 'QUEUED');
    expect(queued.pool.position).toBe(1);

    const pool = await api.pool();
    expect(pool.status).toBe(200);
    expect(pool.body).toEqual({ active: 2, max: 2, waiting: ['p3'], utilization: 1 });

    expect((await api.action('p1', 'stop')).status).toBe(202);
    await api.waitForStatus('p1', 'STOPPED');
    const started = await api.waitForStatus('p3', 'SCAN_QR');
    expect(started.pool.position).toBeNull();
    expect((await api.pool()).body).toMatchObject({ active: 2, max: 2, waiting: [] });
  });
});
