import { SandboxNetwork } from '../../src/modules/sandbox/network/sandbox-network';
import { recordSessionEvents } from '../helpers/session-events';
import { sessionsApi } from '../helpers/sessions-api';
import { startTestApp, type TestApp } from '../helpers/test-app';

/**
 * The session watchdog end to end: every SESSION_HEALTH_INTERVAL_MS an idle
 * WORKING socket must answer a real WhatsApp ping (`<iq xmlns="w:p"><ping/>`,
 * BaileysConnection.ping) within min(10 s, interval). The sandbox's latency
 * fault delays every frame the network sends (in order), so the pong, like
 * every other frame, stops arriving: the socket looks alive at the TCP level
 * but does not answer, which is exactly what the watchdog is for.
 */
const HEALTH_INTERVAL_MS = 1000;
const OVERRIDES = {
  SANDBOX: 'true',
  STATUS_DEBOUNCE_MS: '0',
  SESSION_HEALTH_INTERVAL_MS: String(HEALTH_INTERVAL_MS),
  // The first retry comes 1-2 s after the drop, so the test can lift the fault
  // before it: a retry that connects while every frame is delayed 30 s waits
  // for Baileys' 20 s connect timeout first (correct, but slow for a test).
  RECONNECT_BASE_MS: '2000',
  RECONNECT_MAX_MS: '4000',
};

describe('session watchdog (ping of idle WORKING sockets)', () => {
  let t: TestApp;
  let api: ReturnType<typeof sessionsApi>;

  beforeAll(async () => {
    t = await startTestApp(OVERRIDES);
    api = sessionsApi(t);
  });
  afterAll(async () => {
    await api?.faults({}).then(
      () => undefined,
      () => undefined,
    );
    await t?.close();
  });

  it('a socket that stops answering goes RECONNECTING (health check) and is WORKING again once the network answers', async () => {
    const network = t.app.get(SandboxNetwork);
    const events = recordSessionEvents(t);
    await api.create('watched');
    const paired = await api.pair('watched', '5511930000001');

    // Control: a healthy idle socket answers its pings, so several watchdog passes leave it alone.
    // (Proving that nothing happens needs time to pass; there is no event to wait for.)
    await new Promise((resolve) => setTimeout(resolve, HEALTH_INTERVAL_MS * 3.5));
    const healthy = await api.session('watched');
    expect(healthy.status).toBe('WORKING');
    expect(healthy.stats.reconnects).toBe(0);
    expect(healthy.stats.connectedSince).toBe(paired.stats.connectedSince);
    expect(events.statusesOf('watched').map((e) => e.status)).not.toContain('RECONNECTING');

    // Every frame the network sends is now delayed 30 s: the next ping times out after 1 s.
    const mark = events.events.length;
    const faultAt = Date.now();
    expect((await api.faults({ latencyMs: 30000 })).body).toEqual({ latencyMs: 30000 });
    const dropped = await events.waitForStatus('watched', 'RECONNECTING', mark, 15000);
    // Lift the fault before the first retry (1-2 s later) connects.
    expect((await api.faults({})).status).toBe(200);
    // At most: one interval until the socket counts as idle, one until the next pass, the ping timeout.
    expect(dropped.at - faultAt).toBeLessThan(HEALTH_INTERVAL_MS * 3 + 2000);
    expect(dropped.previous).toBe('WORKING');
    expect(dropped.lastError).toMatch(/health check/i);

    const reconnecting = await api.session('watched');
    expect(['RECONNECTING', 'WORKING']).toContain(reconnecting.status);
    if (reconnecting.status === 'RECONNECTING') expect(reconnecting.lastError).toMatch(/health check/i);

    const back = await api.waitForStatus('watched', 'WORKING', 20000);
    expect(back.lastError).toBeNull();
    expect(back.circuit).toEqual({ state: 'CLOSED', failures: 0 });
    expect(back.me?.phone).toBe('5511930000001');
    expect(back.stats.reconnects).toBe(1);
    expect(back.stats.connectedSince).not.toBe(paired.stats.connectedSince);
    expect(network.sessionState('watched')).toBe('online');
    expect(events.statusesOf('watched').slice(-2).map((e) => [e.previous, e.status])).toEqual([
      ['WORKING', 'RECONNECTING'],
      ['RECONNECTING', 'WORKING'],
    ]);

    const metrics = await t.http.get('/metrics');
    expect(metrics.text).toMatch(/zaphub_session_reconnects_total\{reason="connection_lost"\} 1\b/);
    events.stop();
  });
});
