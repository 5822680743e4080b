import { recordSessionEvents } from '../helpers/session-events';
import { sessionsApi } from '../helpers/sessions-api';
import { startTestApp, type TestApp } from '../helpers/test-app';
import { waitFor } from '../helpers/test-env';

/**
 * `session.status` and `session.qr` on the application's in-process event bus
 * (what the webhooks module consumes), produced by real Baileys against the
 * sandbox. The two apps run one after the other: a process trusts one sandbox
 * root at a time.
 */
const BASE = { SANDBOX: 'true', RECONNECT_BASE_MS: '50', RECONNECT_MAX_MS: '400' };

describe('session events, no debounce', () => {
  let t: TestApp;
  let api: ReturnType<typeof sessionsApi>;

  beforeAll(async () => {
    t = await startTestApp({ ...BASE, STATUS_DEBOUNCE_MS: '0' });
    api = sessionsApi(t);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('create → SCAN_QR → scan → WORKING emits status and qr events in order, each with its previous status', async () => {
    const events = recordSessionEvents(t);
    expect((await api.create('ev1')).status).toBe(201);
    await api.waitForStatus('ev1', 'SCAN_QR');
    const shownQr = (await api.qr('ev1')).body as { value: string; expiresAt: string };
    expect((await api.scan('ev1', '5511950000001')).status).toBe(200);
    await api.waitForStatus('ev1', 'WORKING');
    await events.waitForStatus('ev1', 'WORKING');

    const seen = events.of('ev1').map((e) =>
      e.event === 'session.status' ? { event: e.event, status: e.status, previous: e.previous, lastError: e.lastError } : { event: e.event, value: e.value, expiresAt: e.expiresAt },
    );
    expect(seen).toEqual([
      { event: 'session.status', status: 'STARTING', previous: 'STOPPED', lastError: null },
      { event: 'session.status', status: 'SCAN_QR', previous: 'STARTING', lastError: null },
      // The QR the API showed (and the phone scanned) is the one announced.
      { event: 'session.qr', value: shownQr.value, expiresAt: shownQr.expiresAt },
      { event: 'session.status', status: 'WORKING', previous: 'SCAN_QR', lastError: null },
    ]);
    const ids = new Set(events.of('ev1').map((e) => e.sessionId));
    expect(ids.size).toBe(1);
    events.stop();
  });
});

describe('session events with STATUS_DEBOUNCE_MS=2000', () => {
  const DEBOUNCE_MS = 2000;
  let t: TestApp;
  let api: ReturnType<typeof sessionsApi>;

  beforeAll(async () => {
    t = await startTestApp({ ...BASE, STATUS_DEBOUNCE_MS: String(DEBOUNCE_MS) });
    api = sessionsApi(t);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('a 428 flap that reconnects within the window emits nothing; a 401 emits LOGGED_OUT at once', async () => {
    const events = recordSessionEvents(t);
    await api.create('flap');
    const paired = await api.pair('flap', '5511950000002');
    await events.waitForStatus('flap', 'WORKING');

    // 428: the socket drops and reconnects (backoff 25-50 ms) long before the RECONNECTING write is due.
    const mark = events.events.length;
    const droppedAt = Date.now();
    expect((await api.disconnect('flap', 428)).status).toBe(200);
    const reconnected = await waitFor(
      async () => {
        const s = await api.session('flap');
        return s.status === 'WORKING' && s.stats.connectedSince !== paired.stats.connectedSince ? s : null;
      },
      'flap to reconnect',
      DEBOUNCE_MS * 2,
      20,
    );
    const reconnectedWithin = Date.now() - droppedAt;
    expect(reconnectedWithin).toBeLessThan(DEBOUNCE_MS); // the premise of this test
    expect(reconnected.stats.reconnects).toBe(1);
    // Nothing must come out of the debounce window later either: let it pass (absence has no event to await).
    await new Promise((resolve) => setTimeout(resolve, droppedAt + DEBOUNCE_MS + 500 - Date.now()));
    expect(events.events.slice(mark).filter((e) => e.session === 'flap')).toEqual([]);
    expect((await api.session('flap')).status).toBe('WORKING');

    // 401 is terminal: written (and announced) at once, whatever the debounce.
    const mark401 = events.events.length;
    const loggedOutAt = Date.now();
    expect((await api.disconnect('flap', 401)).status).toBe(200);
    const loggedOut = await events.waitForStatus('flap', 'LOGGED_OUT', mark401, DEBOUNCE_MS * 2);
    expect(loggedOut.at - loggedOutAt).toBeLessThan(DEBOUNCE_MS / 2);
    expect(loggedOut.previous).toBe('WORKING');
    expect(loggedOut.lastError).toMatch(/401/);
    expect(events.events.slice(mark401).filter((e) => e.session === 'flap').map((e) => e.event === 'session.status' && e.status)).toEqual(['LOGGED_OUT']);
    const row = await api.session('flap');
    expect(row.status).toBe('LOGGED_OUT');
    expect(row.me).toBeNull();
    events.stop();
  });
});
