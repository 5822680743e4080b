import { EventLog, type EventEnvelope } from '../../src/infra/events/event-log';
import { PrismaService } from '../../src/infra/prisma/prisma.service';
import { TransactionRunner, type DbTransaction } from '../../src/infra/prisma/transaction';
import { SessionsService } from '../../src/modules/sessions/sessions.service';
import { openSse, type SseStream } from '../helpers/sse-client';
import { startTestApp, type TestApp } from '../helpers/test-app';
import { waitFor } from '../helpers/test-env';

/**
 * GET /api/events/stream without `session`: every session's events on one
 * stream, live from the moment it opens (same frames as the per-session
 * stream), events appended by another replica (Redis hint) or without a hint
 * (the poll), sessions created after it opened, and the client gauge.
 */
describe('live event stream of all sessions', () => {
  let t: TestApp;
  let replica: TestApp;
  let polling: TestApp;
  const sessionIds = new Map<string, string>();

  const createSession = async (name: string) => {
    const res = await t.http.post('/api/sessions').set('X-Api-Key', t.apiKey).send({ name, start: false });
    expect(res.status).toBe(201);
    sessionIds.set(name, await t.app.get(SessionsService).idOf(name));
  };
  /** Appends `count` test events to the session's log on `app` (one TransactionRunner transaction each, as producers do). */
  const append = async (app: TestApp, name: string, count: number, tag = 'e'): Promise<string[]> => {
    const ids: string[] = [];
    for (let i = 0; i < count; i++) {
      const envelope = await app.app
        .get(TransactionRunner)
        .run((tx) => app.app.get(EventLog).append(tx, { sessionId: sessionIds.get(name)!, sessionName: name, type: 'test.event', data: { tag, i } }));
      ids.push(`${name}:${envelope.sequence}`);
    }
    return ids;
  };
  const open = (app: TestApp = t, headers: Record<string, string> = {}, query = '') =>
    openSse(app.baseUrl, `/api/events/stream${query}`, { 'X-Api-Key': t.apiKey, ...headers });
  const idsOf = (stream: SseStream, name?: string) => stream.frames.map((f) => f.id!).filter((id) => !name || id.startsWith(`${name}:`));
  const streams: SseStream[] = [];
  const track = (s: SseStream) => (streams.push(s), s);

  beforeAll(async () => {
    // A long poll: what arrives within the waits came by the wake-up hints (but on `polling`).
    t = await startTestApp({ EVENT_STREAM_HEARTBEAT_MS: '200', EVENT_STREAM_POLL_MS: '600000', INSTANCE_ID: 'all-a' });
    replica = await startTestApp({ APP_ROLE: 'api', EVENT_STREAM_POLL_MS: '600000', INSTANCE_ID: 'all-b' }, t.env);
    polling = await startTestApp({ APP_ROLE: 'api', EVENT_STREAM_POLL_MS: '200', INSTANCE_ID: 'all-c' }, t.env);
    for (const name of ['alpha', 'beta', 'gamma']) await createSession(name);
  });
  afterEach(() => {
    for (const s of streams.splice(0)) s.close();
  });
  afterAll(async () => {
    await polling?.close();
    await replica?.close();
    await t?.close();
  });

  it('answers 401 without credentials and 400 for a sequence cursor without a session', async () => {
    expect((await openSse(t.baseUrl, '/api/events/stream')).status).toBe(401);
    const res = await open(t, {}, '?after=3');
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body)).toMatchObject({ statusCode: 400, details: [expect.objectContaining({ field: 'after' })] });
  });

  it("streams two sessions' events on one stream, live from the moment it opens (Last-Event-ID is ignored)", async () => {
    await append(t, 'alpha', 2, 'before');
    const stream = track(await open(t, { 'Last-Event-ID': 'alpha:1' }));
    expect(stream.status).toBe(200);
    expect(stream.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    const fromAlpha = await append(t, 'alpha', 3, 'a');
    const fromBeta = await append(t, 'beta', 2, 'b');
    const more = await append(t, 'alpha', 1, 'a2');
    await stream.waitForFrames(6);
    // Each session's events in sequence order, nothing from before the stream opened.
    expect(idsOf(stream, 'alpha')).toEqual([...fromAlpha, ...more]);
    expect(idsOf(stream, 'beta')).toEqual(fromBeta);
    const envelopes = stream.frames.map((f) => JSON.parse(f.data) as EventEnvelope);
    for (const e of envelopes) {
      // The envelope of webhooks and the per-session stream, nothing more (no internal session id).
      expect(Object.keys(e).sort()).toEqual(['data', 'event', 'id', 'sequence', 'session', 'timestamp']);
    }
    const page = await t.http.get(`/api/sessions/beta/events?last=2`).set('X-Api-Key', t.apiKey);
    expect(page.body.items).toEqual(envelopes.filter((e) => e.session === 'beta'));
    await waitFor(() => stream.comments.includes('heartbeat'), 'a heartbeat comment', 5000);
  });

  it('delivers events appended by another replica (Redis hint, not the poll)', async () => {
    const here = track(await open(t));
    const there = track(await open(replica));
    const fromReplica = await append(replica, 'gamma', 2, 'replica');
    const fromHere = await append(t, 'beta', 1, 'here');
    await here.waitForFrames(3, 5000);
    await there.waitForFrames(3, 5000);
    for (const stream of [here, there]) {
      expect(idsOf(stream, 'gamma')).toEqual(fromReplica);
      expect(idsOf(stream, 'beta')).toEqual(fromHere);
    }
  });

  it('finds events whose hint never came on its poll (EVENT_STREAM_POLL_MS)', async () => {
    const stream = track(await open(polling));
    // A transaction not opened by TransactionRunner has no after-commit hook: no hint is sent.
    const envelope = await polling.app
      .get(PrismaService)
      .$transaction((tx) => polling.app.get(EventLog).append(tx as unknown as DbTransaction, { sessionId: sessionIds.get('alpha')!, sessionName: 'alpha', type: 'test.event', data: { tag: 'unhinted' } }));
    await stream.waitForFrames(1, 5000);
    expect(idsOf(stream)).toEqual([`alpha:${envelope.sequence}`]);
  });

  it('streams the events of a session created after it opened, from its first', async () => {
    const stream = track(await open(t));
    await createSession('delta');
    const fromDelta = await append(replica, 'delta', 2, 'new');
    await stream.waitForFrames(2, 5000);
    expect(idsOf(stream, 'delta')).toEqual(fromDelta);
    expect(fromDelta).toEqual(['delta:1', 'delta:2']);
  });

  it('counts open all-sessions streams in zaphub_event_stream_clients', async () => {
    const gauge = async () => {
      const m = /^zaphub_event_stream_clients (\d+)$/m.exec((await t.http.get('/metrics')).text);
      if (!m) throw new Error('zaphub_event_stream_clients missing from /metrics');
      return Number(m[1]);
    };
    await waitFor(async () => (await gauge()) === 0, 'no stream left open by earlier tests');
    const all = track(await open(t));
    await waitFor(async () => (await gauge()) === 1, 'the stream counted');
    all.close();
    await waitFor(async () => (await gauge()) === 0, 'none after the client left');
  });
});
