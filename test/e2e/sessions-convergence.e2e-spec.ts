import { QueueName } from '../../src/infra/queues/queue-catalogue';
import { QueuesService } from '../../src/infra/queues/queues.service';
import { SandboxNetwork } from '../../src/modules/sandbox/network/sandbox-network';
import { SessionCommandBus } from '../../src/modules/sessions/runtime/session-command-bus';
import { SessionOwnerCommands } from '../../src/modules/sessions/runtime/session-owner-commands';
import { SessionReconciler } from '../../src/modules/sessions/runtime/session-reconciler';
import { SessionRuntime } from '../../src/modules/sessions/runtime/session-runtime.service';
import { authRowCount, query } from '../helpers/db-query';
import { recordSessionEvents } from '../helpers/session-events';
import { sessionsApi } from '../helpers/sessions-api';
import { startTestApp, type TestApp } from '../helpers/test-app';
import { waitFor } from '../helpers/test-env';

/**
 * The row is the truth, whatever happens to jobs and hints: every session
 * converges on its desired state on exactly one worker. Runs with the DEFAULT
 * status debounce (5000 ms) and the default reconcile interval, as deployed.
 * "Exactly one" is counted at the sandbox: open connections per session.
 */
describe('sessions converge on their rows (default debounce)', () => {
  let t: TestApp;
  let api: ReturnType<typeof sessionsApi>;
  let network: SandboxNetwork;

  beforeAll(async () => {
    t = await startTestApp({ SANDBOX: 'true', SESSION_LEASE_TTL_MS: '5000' });
    api = sessionsApi(t);
    network = t.app.get(SandboxNetwork);
  });
  afterAll(async () => {
    await t?.close();
  });

  const idOf = async (name: string) => (await query<{ id: string }>(t.env.databaseUrl, 'SELECT id FROM "Session" WHERE name = $1', [name]))[0]!.id;

  /** Samples the sandbox's connections of `name` until `done` holds; returns the most seen at once. */
  async function maxConnectionsUntil(name: string, done: () => Promise<boolean>, label: string): Promise<number> {
    let max = 0;
    await waitFor(
      async () => {
        max = Math.max(max, network.sessionConnections(name));
        return done();
      },
      label,
      30_000,
      20,
    );
    return max;
  }

  it('start racing start (two init jobs, a direct kick and a reconcile pass at once) runs one socket, never CONFLICT', async () => {
    await api.create('racer');
    await api.pair('racer', '5511970000001');
    await api.action('racer', 'stop');
    await api.waitForStatus('racer', 'STOPPED');
    const events = recordSessionEvents(t);
    // desired RUNNING written without a job, then every trigger at once.
    const id = await idOf('racer');
    await query(t.env.databaseUrl, `UPDATE "Session" SET "desiredState" = 'RUNNING' WHERE id = $1`, [id]);
    const queues = t.app.get(QueuesService);
    const runtime = t.app.get(SessionRuntime);
    await Promise.all([
      queues.add(QueueName.SessionInit, { sessionId: id, reason: 'start' }, { deduplication: { id: 'race-a' } }),
      queues.add(QueueName.SessionInit, { sessionId: id, reason: 'restore' }, { deduplication: { id: 'race-b' } }),
      runtime.kick(id),
      runtime.kick(id),
      t.app.get(SessionReconciler).tick(),
    ]);
    const max = await maxConnectionsUntil('racer', async () => (await api.session('racer')).status === 'WORKING', 'racer WORKING');
    // A second socket on the same creds would replace the first (440) within moments: watch a short while.
    const settle = Date.now() + 1500;
    let maxAfter = max;
    await waitFor(() => {
      maxAfter = Math.max(maxAfter, network.sessionConnections('racer'));
      return Date.now() > settle;
    }, 'the observation window');
    expect({ max: maxAfter, now: network.sessionConnections('racer') }).toEqual({ max: 1, now: 1 });
    expect(events.statusesOf('racer').map((e) => e.status)).not.toContain('CONFLICT');
    expect((await api.session('racer')).status).toBe('WORKING');
    expect(runtime.liveSessions().filter((d) => d.name === 'racer')).toHaveLength(1);
    events.stop();
  });

  it('stop then start at once ends WORKING (the stop does not win because it ran last)', async () => {
    await api.create('flip');
    await api.pair('flip', '5511970000002');
    const [stop, start] = [await api.action('flip', 'stop'), await api.action('flip', 'start')];
    expect([stop.status, start.status]).toEqual([202, 202]);
    const working = await waitFor(async () => {
      const s = await api.session('flip');
      return s.status === 'WORKING' && network.sessionConnections('flip') === 1 ? s : null;
    }, 'flip back to WORKING on one socket');
    expect(working.me?.phone).toBe('5511970000002');
  });

  it('a desired-RUNNING session whose status says STOPPED (lost init job) is started by the reconciler', async () => {
    await api.create('lost-job', { start: false });
    expect((await api.session('lost-job')).status).toBe('STOPPED');
    // What an init enqueue that failed after the row was written leaves behind.
    await query(t.env.databaseUrl, `UPDATE "Session" SET "desiredState" = 'RUNNING' WHERE name = 'lost-job'`);
    await api.waitForStatus('lost-job', 'SCAN_QR', 20_000);
  });

  it('restart counts stats from the new start: nothing merged back from before (default debounce)', async () => {
    await api.create('counting');
    await api.pair('counting', '5511970000003');
    const before = await api.session('counting');
    await query(t.env.databaseUrl, `UPDATE "Session" SET stats = stats || '{"sent": 5, "received": 7, "failed": 1}'::jsonb WHERE name = 'counting'`);
    expect((await api.action('counting', 'restart')).status).toBe(202);
    const after = await waitFor(async () => {
      const s = await api.session('counting');
      return s.status === 'WORKING' && s.stats.connectedSince !== before.stats.connectedSince ? s : null;
    }, 'counting WORKING again after the restart');
    expect(after.stats).toMatchObject({ sent: 0, received: 0, failed: 0, reconnects: 0 });
    expect(after.reconnect).toEqual({ attempts: 0, nextAttemptAt: null });
  });

  it('a logout is carried out even when its job and its hint are lost: the owner reads the row', async () => {
    await api.create('lost-logout');
    await api.pair('lost-logout', '5511970000004');
    // The owner hears no hints and no session job runs: only the row says "log out".
    await t.app.get(SessionCommandBus).onModuleDestroy();
    expect((await t.http.post('/api/queues/pause').set('X-Api-Key', t.apiKey)).status).toBeLessThan(300);
    try {
      expect((await api.action('lost-logout', 'logout')).status).toBe(202);
      await api.waitForStatus('lost-logout', 'LOGGED_OUT', 20_000);
    } finally {
      await t.http.post('/api/queues/resume').set('X-Api-Key', t.apiKey);
      await t.app.get(SessionOwnerCommands).onApplicationBootstrap();
    }
    expect(await authRowCount(t.env.databaseUrl, 'lost-logout')).toEqual({ creds: 0, keys: 0 });
    expect(network.sessionDeviceLinked('lost-logout')).toBe(false);
  });

  it('logout of a session that is not connected still unlinks the device at WhatsApp', async () => {
    await api.create('offline-logout');
    await api.pair('offline-logout', '5511970000005');
    await api.action('offline-logout', 'stop');
    await api.waitForStatus('offline-logout', 'STOPPED');
    await waitFor(() => network.sessionConnections('offline-logout') === 0, 'the socket to close');
    expect(network.sessionDeviceLinked('offline-logout')).toBe(true);

    expect((await api.action('offline-logout', 'logout')).status).toBe(202);
    const out = await api.waitForStatus('offline-logout', 'LOGGED_OUT', 30_000);
    expect(out.lastError).toBeNull();
    expect(network.sessionDeviceLinked('offline-logout')).toBe(false);
    expect(await authRowCount(t.env.databaseUrl, 'offline-logout')).toEqual({ creds: 0, keys: 0 });
  });

  it('DELETE of a stopped session unlinks the device, then removes the row; the name is free at once', async () => {
    await api.create('gone');
    await api.pair('gone', '5511970000006');
    await api.action('gone', 'stop');
    await api.waitForStatus('gone', 'STOPPED');
    const id = await idOf('gone');

    expect((await api.remove('gone')).status).toBe(204);
    expect((await api.get('gone')).status).toBe(404);
    expect((await t.http.get('/api/sessions').set('X-Api-Key', t.apiKey)).body.map((s: { name: string }) => s.name)).not.toContain('gone');
    // The name is free before the worker has finished with the old session.
    expect((await api.create('gone', { start: false })).status).toBe(201);
    await waitFor(async () => (await query(t.env.databaseUrl, 'SELECT 1 FROM "Session" WHERE id = $1', [id])).length === 0, 'the row to be removed', 30_000);
    expect(network.sessionDeviceLinked('gone')).toBe(false);
    expect(await query(t.env.databaseUrl, 'SELECT 1 FROM "AuthKey" WHERE "sessionId" = $1', [id])).toEqual([]);
    expect((await api.get('gone')).body).toMatchObject({ name: 'gone', status: 'STOPPED' });
  });
});
