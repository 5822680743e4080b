import { SandboxNetwork } from '../../src/modules/sandbox/network/sandbox-network';
import { recordSessionEvents } from '../helpers/session-events';
import { sessionsApi } from '../helpers/sessions-api';
import { startTestApp, type TestApp } from '../helpers/test-app';
import { waitFor } from '../helpers/test-env';

/**
 * The reconnect circuit breaker end to end: real Baileys against the sandbox,
 * driven through the REST API. Nobody calls POST .../circuit/reset here: the
 * breaker's own half-open trial after CIRCUIT_BREAKER_RESET_MS must bring the
 * session back once WhatsApp accepts connections again, and a trial that fails
 * must open the circuit again.
 */
const RESET_MS = 1500;
const OVERRIDES = {
  SANDBOX: 'true',
  STATUS_DEBOUNCE_MS: '0',
  RECONNECT_BASE_MS: '50',
  RECONNECT_MAX_MS: '400',
  CIRCUIT_BREAKER_THRESHOLD: '2',
  CIRCUIT_BREAKER_RESET_MS: String(RESET_MS),
};

describe('session reconnect circuit breaker (half-open trial without a reset)', () => {
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

  it('refused → FAILED + OPEN; a trial while still refused re-opens it; once accepted, the next trial → WORKING + CLOSED', async () => {
    const network = t.app.get(SandboxNetwork);
    const events = recordSessionEvents(t);
    await api.create('breaker');
    await api.pair('breaker', '5511920000001');

    // 1. WhatsApp refuses every new connection; the server drops the socket (428).
    expect((await api.faults({ refuseConnections: true })).status).toBe(200);
    const refusedBefore = network.stats().refusedConnections;
    const mark = events.events.length;
    expect((await api.disconnect('breaker', 428)).status).toBe(200);

    const opened = await api.waitForStatus('breaker', 'FAILED');
    expect(opened.circuit).toEqual({ state: 'OPEN', failures: 2 });
    expect(opened.lastError).toMatch(/circuit open after 2 consecutive/i);
    expect(opened.reconnect.nextAttemptAt).not.toBeNull();
    // Exactly THRESHOLD attempts reached the network before the breaker opened.
    expect(network.stats().refusedConnections - refusedBefore).toBe(2);
    const firstFailed = await events.waitForStatus('breaker', 'FAILED', mark);

    // 2. Still refused: after the reset time the breaker lets exactly one trial through; it fails and re-opens.
    const reopened = await waitFor(
      async () => {
        const s = await api.session('breaker');
        return s.status === 'FAILED' && s.circuit.failures === 3 ? s : null;
      },
      'the failed half-open trial to re-open the circuit',
      RESET_MS * 4,
      20,
    );
    expect(reopened.circuit).toEqual({ state: 'OPEN', failures: 3 });
    expect(reopened.lastError).toMatch(/circuit open after 3 consecutive/i);
    expect(new Date(reopened.reconnect.nextAttemptAt!).getTime()).toBeGreaterThan(new Date(opened.reconnect.nextAttemptAt!).getTime());
    expect(network.stats().refusedConnections - refusedBefore).toBe(3);
    const trial = events.statusesOf('breaker').slice(events.statusesOf('breaker').indexOf(firstFailed));
    expect(trial.map((e) => [e.previous, e.status])).toEqual([
      ['RECONNECTING', 'FAILED'],
      ['FAILED', 'RECONNECTING'],
      ['RECONNECTING', 'FAILED'],
    ]);
    // The trial waited for the reset time (timers never fire early by more than a millisecond).
    expect(trial[1]!.at - trial[0]!.at).toBeGreaterThanOrEqual(RESET_MS - 5);

    // 3. WhatsApp accepts connections again. No reset call: the next trial must close the circuit.
    expect((await api.faults({})).status).toBe(200);
    const reopenedEvent = trial[2]!;
    const back = await api.waitForStatus('breaker', 'WORKING', RESET_MS * 4);
    expect(back.circuit).toEqual({ state: 'CLOSED', failures: 0 });
    expect(back.lastError).toBeNull();
    expect(back.reconnect).toEqual({ attempts: 0, nextAttemptAt: null });
    expect(back.me?.phone).toBe('5511920000001');
    expect(network.sessionState('breaker')).toBe('online');
    const recovery = events.statusesOf('breaker').slice(events.statusesOf('breaker').indexOf(reopenedEvent) + 1);
    expect(recovery.map((e) => [e.previous, e.status])).toEqual([
      ['FAILED', 'RECONNECTING'],
      ['RECONNECTING', 'WORKING'],
    ]);
    expect(recovery[0]!.at - reopenedEvent.at).toBeGreaterThanOrEqual(RESET_MS - 5);
    events.stop();
  });
});
