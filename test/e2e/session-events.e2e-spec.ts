import type { EventEnvelope } from '../../src/infra/events/event-log';
import { recordSessionEvents } from '../helpers/session-events';
import { sessionsApi } from '../helpers/sessions-api';
import { startTestApp, type TestApp } from '../helpers/test-app';
import { waitFor } from '../helpers/test-env';

type EventBody = EventEnvelope;

/**
 * GET /api/sessions/:name/events: the session's event log through the API, the
 * way a client catches up after its own downtime.
 */
describe('session events (catch-up route)', () => {
  let t: TestApp;
  let api: ReturnType<typeof sessionsApi>;
  const events = (name: string, query = '') => t.http.get(`/api/sessions/${name}/events${query}`).set('X-Api-Key', t.apiKey);

  beforeAll(async () => {
    t = await startTestApp({ SANDBOX: 'true', STATUS_DEBOUNCE_MS: '0' });
    api = sessionsApi(t);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('lists session.status and session.qr in sequence order, as the bus announced them', async () => {
    const bus = recordSessionEvents(t);
    await api.create('logged');
    await api.pair('logged', '5511993000001');
    await api.action('logged', 'stop');
    await api.waitForStatus('logged', 'STOPPED');
    const announced = await waitFor(() => {
      const list = bus.of('logged');
      return list.some((e) => e.event === 'session.status' && e.status === 'STOPPED') ? list : null;
    }, 'the STOPPED announcement');
    bus.stop();

    const res = await events('logged');
    expect(res.status).toBe(200);
    const items = res.body.items as EventBody[];
    expect(items.map((e) => e.sequence)).toEqual(items.map((_, i) => i + 1));
    expect(res.body.nextAfter).toBe(items.length);
    for (const e of items) {
      expect(e).toEqual({ id: expect.stringMatching(/^evt_[0-9a-f]{32}$/), event: expect.any(String), session: 'logged', sequence: expect.any(Number), timestamp: expect.any(String), data: expect.any(Object) });
    }
    // The same events the in-process bus carried, in the same order.
    expect(items.map((e) => (e.event === 'session.status' ? `status:${String(e.data.status)}` : `qr:${String(e.data.value)}`))).toEqual(
      announced.map((e) => (e.event === 'session.status' ? `status:${e.status}` : `qr:${e.value}`)),
    );
    const statuses = items.filter((e) => e.event === 'session.status').map((e) => [e.data.previous, e.data.status]);
    expect(statuses).toEqual([
      ['STOPPED', 'STARTING'],
      ['STARTING', 'SCAN_QR'],
      ['SCAN_QR', 'WORKING'],
      ['WORKING', 'STOPPED'],
    ]);
    const qr = items.find((e) => e.event === 'session.qr')!;
    expect(qr.data).toEqual({ value: expect.stringMatching(/^https:\/\/wa\.me\//), expiresAt: expect.any(String) });
  });

  it('pages with after and limit; a page shorter than limit means caught up', async () => {
    const all = (await events('logged', '?limit=1000')).body.items as EventBody[];
    expect(all.length).toBeGreaterThanOrEqual(4);
    const first = await events('logged', '?limit=2');
    expect((first.body.items as EventBody[]).map((e) => e.sequence)).toEqual([1, 2]);
    expect(first.body.nextAfter).toBe(2);
    const rest = await events('logged', `?after=${first.body.nextAfter}&limit=1000`);
    expect((rest.body.items as EventBody[]).map((e) => e.sequence)).toEqual(all.slice(2).map((e) => e.sequence));
    expect(await events('logged', `?after=${all.length}`).then((r) => r.body)).toEqual({ items: [], nextAfter: null });
  });

  it('gives the last N events with last=N (how a page shows recent history), nextAfter where to go on', async () => {
    const all = (await events('logged', '?limit=1000')).body.items as EventBody[];
    const tail = await events('logged', '?last=2');
    expect(tail.status).toBe(200);
    expect(tail.body).toEqual({ items: all.slice(-2), nextAfter: all[all.length - 1]!.sequence });
    expect((await events('logged', '?last=1000')).body.items).toEqual(all);
    await api.create('quiet', { start: false });
    expect((await events('quiet', '?last=5')).body).toEqual({ items: [], nextAfter: null });
  });

  it('answers 400 for a bad cursor or limit and 404 for an unknown session', async () => {
    for (const query of ['?after=-1', '?after=abc', '?after=1.5', '?limit=0', '?limit=1001', '?limit=0x10', '?after=1&after=2', '?last=0', '?last=1001', '?last=2&after=1', '?last=2&limit=5']) {
      const res = await events('logged', query);
      expect({ query, status: res.status }).toEqual({ query, status: 400 });
      expect(res.body).toMatchObject({ statusCode: 400, error: 'Bad Request', requestId: expect.any(String) });
    }
    const unknown = await events('nobody');
    expect(unknown.status).toBe(404);
    expect((await t.http.get('/api/sessions/logged/events')).status).toBe(401);
  });
});
