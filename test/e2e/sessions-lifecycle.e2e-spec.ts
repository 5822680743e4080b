import { authRowCount } from '../helpers/db-query';
import { sessionsApi } from '../helpers/sessions-api';
import { startTestApp, type TestApp } from '../helpers/test-app';
import { createTestEnv, waitFor, type TestEnv } from '../helpers/test-env';

/**
 * Sessions end to end: real Baileys in ZapHub's engine against the in-process
 * sandbox, driven only through the public REST API.
 */
const OVERRIDES = {
  SANDBOX: 'true',
  STATUS_DEBOUNCE_MS: '0',
  RECONNECT_BASE_MS: '50',
  RECONNECT_MAX_MS: '400',
  CIRCUIT_BREAKER_THRESHOLD: '3',
  CIRCUIT_BREAKER_RESET_MS: '600000',
  SESSION_LEASE_TTL_MS: '3000',
};

describe('sessions lifecycle (real Baileys against the sandbox)', () => {
  let env: TestEnv;
  let t: TestApp;
  let api: ReturnType<typeof sessionsApi>;

  beforeAll(async () => {
    env = await createTestEnv(OVERRIDES);
    t = await startTestApp(OVERRIDES, env);
    api = sessionsApi(t);
  });
  afterAll(async () => {
    await t?.close();
    await env?.cleanup();
  });

  it('create → QR as JSON and PNG → sandbox scan → WORKING; a restart of ZapHub restores it without a QR', async () => {
    const created = await api.create('alpha');
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'alpha', circuit: { state: 'CLOSED', failures: 0 }, pool: { position: null } });

    await api.waitForStatus('alpha', 'SCAN_QR');
    const qr = await api.qr('alpha');
    expect(qr.status).toBe(200);
    expect(qr.body.value).toMatch(/^https:\/\/wa\.me\/settings\/linked_devices#/);
    expect(new Date(qr.body.expiresAt).getTime()).toBeGreaterThan(Date.now());
    const png = await api.qr('alpha').set('Accept', 'image/png');
    expect(png.status).toBe(200);
    expect(png.headers['content-type']).toMatch(/^image\/png/);
    expect((png.body as Buffer).subarray(1, 4).toString()).toBe('PNG');

    const working = await api.pair('alpha', '5511900000001');
    expect(working.me?.phone).toBe('5511900000001');
    expect(working.stats.connectedSince).not.toBeNull();
    expect((await authRowCount(env.databaseUrl, 'alpha')).creds).toBe(1);

    // Restart ZapHub: the session comes back from its stored auth state, never asking for a QR.
    await t.close();
    t = await startTestApp(OVERRIDES, env);
    api = sessionsApi(t);
    const statuses: string[] = [];
    const restored = await waitFor(async () => {
      const s = await api.session('alpha');
      statuses.push(s.status);
      return s.status === 'WORKING' ? s : null;
    }, 'alpha restored');
    expect(statuses).not.toContain('SCAN_QR');
    expect(restored.me?.phone).toBe('5511900000001');
    expect((await api.qr('alpha')).status).toBe(409);
  });

  it('401 from WhatsApp → LOGGED_OUT, auth rows gone, no reconnect', async () => {
    await api.create('bravo');
    await api.pair('bravo', '5511900000002');
    expect((await authRowCount(env.databaseUrl, 'bravo')).keys).toBeGreaterThan(0);
    expect((await api.disconnect('bravo', 401)).status).toBeLessThan(300);
    const out = await api.waitForStatus('bravo', 'LOGGED_OUT');
    expect(out.me).toBeNull();
    expect(await authRowCount(env.databaseUrl, 'bravo')).toEqual({ creds: 0, keys: 0 });
  });

  it('440 → CONFLICT and it does not reconnect', async () => {
    await api.create('charlie');
    await api.pair('charlie', '5511900000003');
    await api.disconnect('charlie', 440);
    const conflict = await api.waitForStatus('charlie', 'CONFLICT');
    expect(conflict.lastError).toMatch(/replaced/i);
    // Starting again is an explicit decision of the operator: still CONFLICT now, with no owner.
    expect((await api.session('charlie')).reconnect.attempts).toBe(0);
  });

  it('428 → RECONNECTING → WORKING again', async () => {
    await api.create('delta');
    await api.pair('delta', '5511900000004');
    const seen = new Set<string>();
    await api.disconnect('delta', 428);
    await waitFor(async () => {
      const s = await api.session('delta');
      seen.add(s.status);
      return seen.has('RECONNECTING') && s.status === 'WORKING';
    }, 'delta to reconnect', 30000, 10);
    expect((await api.session('delta')).stats.reconnects).toBeGreaterThanOrEqual(1);
  });

  it('refused connections → backoff, circuit OPEN after the threshold → FAILED; circuit reset → reconnects', async () => {
    await api.create('echo');
    await api.pair('echo', '5511900000005');
    expect((await api.faults({ refuseConnections: true })).status).toBe(200);
    try {
      await api.disconnect('echo', 428);
      const failed = await api.waitForStatus('echo', 'FAILED');
      expect(failed.circuit).toEqual({ state: 'OPEN', failures: 3 });
      expect(failed.lastError).toMatch(/circuit open/i);
      // An open circuit refuses a forced reconnect.
      expect((await api.action('echo', 'reconnect')).status).toBe(409);
    } finally {
      await api.faults({});
    }
    expect((await api.action('echo', 'circuit/reset')).status).toBe(200);
    const back = await api.waitForStatus('echo', 'WORKING');
    expect(back.circuit).toEqual({ state: 'CLOSED', failures: 0 });
  });

  it('start/stop/restart/logout are idempotent and answer 202', async () => {
    await api.create('foxtrot', { start: false });
    expect((await api.session('foxtrot')).status).toBe('STOPPED');
    const [a, b] = await Promise.all([api.action('foxtrot', 'start'), api.action('foxtrot', 'start')]);
    expect([a.status, b.status]).toEqual([202, 202]);
    await api.pair('foxtrot', '5511900000006');
    expect((await api.action('foxtrot', 'start')).status).toBe(202);
    expect((await api.session('foxtrot')).status).toBe('WORKING');
    expect((await api.action('foxtrot', 'stop')).status).toBe(202);
    await api.waitForStatus('foxtrot', 'STOPPED');
    expect((await api.action('foxtrot', 'stop')).status).toBe(202);
    expect((await authRowCount(env.databaseUrl, 'foxtrot')).creds).toBe(1);
    expect((await api.action('foxtrot', 'start')).status).toBe(202);
    await api.waitForStatus('foxtrot', 'WORKING');
    expect((await api.action('foxtrot', 'logout')).status).toBe(202);
    await api.waitForStatus('foxtrot', 'LOGGED_OUT');
    expect(await authRowCount(env.databaseUrl, 'foxtrot')).toEqual({ creds: 0, keys: 0 });
  });

  it('DELETE logs out, removes the auth state and the session', async () => {
    await api.create('golf');
    await api.pair('golf', '5511900000007');
    expect((await api.remove('golf')).status).toBe(204);
    expect((await api.get('golf')).status).toBe(404);
    expect(await authRowCount(env.databaseUrl, 'golf')).toEqual({ creds: 0, keys: 0 });
    expect((await api.remove('golf')).status).toBe(404);
  });
});
