import { SandboxNetwork } from '../../src/modules/sandbox/network/sandbox-network';
import { sessionsApi } from '../helpers/sessions-api';
import { startTestApp, type TestApp } from '../helpers/test-app';
import { createTestEnv, waitFor, type TestEnv } from '../helpers/test-env';

/**
 * The pool is cluster-wide: a session becomes QUEUED only when no live worker
 * has a free slot. Two workers with one slot each: the second session must
 * go to the worker with room without ever being QUEUED (a full worker used to
 * write QUEUED while the other had room); the third one is QUEUED.
 * "Never QUEUED" is read from the session's event log, which records every
 * status change.
 */
describe('a pool across two workers (MAX_SESSIONS=1 each)', () => {
  let env: TestEnv;
  let a: TestApp;
  let b: TestApp;
  const common = { STATUS_DEBOUNCE_MS: '0', MAX_SESSIONS: '1', SESSION_RECONCILE_INTERVAL_MS: '1000' };

  beforeAll(async () => {
    env = await createTestEnv({ SANDBOX: 'true', ...common });
    a = await startTestApp({ SANDBOX: 'true', INSTANCE_ID: 'pool-a', ...common }, env);
    const network = a.app.get(SandboxNetwork);
    b = await startTestApp(
      { SANDBOX: 'true', SANDBOX_URL: network.wsUrl, SANDBOX_ROOT_KEY: network.rootPublicKey.toString('base64'), INSTANCE_ID: 'pool-b', ...common },
      env,
    );
    // Both workers have published their slots.
    await waitFor(async () => (await sessionsApi(a).pool()).body.max === 2, 'both workers in the pool');
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
    await env?.cleanup();
  });

  const statusesOf = async (name: string) => {
    const res = await a.http.get(`/api/sessions/${name}/events?limit=1000`).set('X-Api-Key', a.apiKey);
    return (res.body.items as Array<{ event: string; data: { status?: string } }>).filter((e) => e.event === 'session.status').map((e) => e.data.status);
  };

  it('uses the free slot of the other worker before queueing, and queues only when the cluster is full', async () => {
    const api = sessionsApi(a);
    await api.create('first');
    await api.pair('first', '5511994000001');
    await api.create('second');
    await api.pair('second', '5511994000002');
    expect(await statusesOf('second')).not.toContain('QUEUED');
    expect((await api.pool()).body).toMatchObject({ active: 2, max: 2, waiting: [] });

    await api.create('third');
    const queued = await api.waitForStatus('third', 'QUEUED');
    expect(queued.pool.position).toBe(1);
    // A slot frees on either worker: the queued session takes it.
    await api.action('first', 'stop');
    await api.pair('third', '5511994000003');
    expect(await statusesOf('third')).toEqual(expect.arrayContaining(['QUEUED', 'WORKING']));
  });
});
