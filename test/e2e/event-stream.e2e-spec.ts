import { EventLog, type EventEnvelope } from '../../src/infra/events/event-log';
import { TransactionRunner } from '../../src/infra/prisma/transaction';
import { SessionsService } from '../../src/modules/sessions/sessions.service';
import { openSse, type SseStream } from '../helpers/sse-client';
import { startTestApp, type TestApp } from '../helpers/test-app';
import { waitFor } from '../helpers/test-env';

/**
 * GET /api/events/stream (Server-Sent Events over the event log): frames with
 * `id: <session>:<sequence>`, resume with Last-Event-ID without gaps, events
 * appended by another replica, heartbeats, the client gauge. Events are
 * appended through the real EventLog in a TransactionRunner transaction (the
 * path every producer takes), so the hooks and hints run as in production.
 */
describe('live event stream', () => {
  let t: TestApp;
  let replica: TestApp;
  const sessionIds = new Map<string, string>();

  const createSession = async (name: string) => {
    const res = await t.http.post('/api/sessions').set('X-Api-Key', t.apiKey).send({ name, start: false });
    expect(res.status).toBe(201);
    sessionIds.set(name, await t.app.get(SessionsService).idOf(name));
  };
  /** Appends `count` test events to the session's log on `app` (one transaction each); returns their sequences. */
  const append = async (app: TestApp, name: string, count: number, tag = 'e'): Promise<number[]> => {
    const sequences: number[] = [];
    for (let i = 0; i < count; i++) {
      const envelope = await app.app
        .get(TransactionRunner)
        .run((tx) => app.app.get(EventLog).append(tx, { sessionId: sessionIds.get(name)!, sessionName: name, type: 'test.event', data: { tag, i } }));
      sequences.push(envelope.sequence);
    }
    return sequences;
  };
  const open = (name: string, headers: Record<string, string> = {}, query = '', app: TestApp = t) =>
    openSse(app.baseUrl, `/api/events/stream?session=${name}${query}`, { 'X-Api-Key': t.apiKey, ...headers });
  const sequencesOf = (stream: SseStream) => stream.frames.map((f) => (JSON.parse(f.data) as EventEnvelope).sequence);
  const streams: SseStream[] = [];
  const track = (s: SseStream) => (streams.push(s), s);

  beforeAll(async () => {
    // Heartbeats every 200 ms to see them; a long poll, so what arrives came by the wake-up hints.
    t = await startTestApp({ EVENT_STREAM_HEARTBEAT_MS: '200', EVENT_STREAM_POLL_MS: '600000', INSTANCE_ID: 'stream-a' });
    replica = await startTestApp({ APP_ROLE: 'api', EVENT_STREAM_POLL_MS: '600000', INSTANCE_ID: 'stream-b' }, t.env);
    await createSession('live');
    await createSession('resume');
    await createSession('cluster');
  });
  afterEach(() => {
    for (const s of streams.splice(0)) s.close();
  });
  afterAll(async () => {
    await replica?.close();
    await t?.close();
  });

  it('answers 400, 401 and 404 before streaming', async () => {
    expect((await openSse(t.baseUrl, '/api/events/stream?session=live')).status).toBe(401);
    const missing = await open('');
    expect(missing.status).toBe(400);
    expect(JSON.parse(missing.body)).toMatchObject({ statusCode: 400, details: [expect.objectContaining({ field: 'session' })] });
    expect((await open('nobody')).status).toBe(404);
    for (const id of ['garbage', 'resume:3', 'live:-1', 'live:1.5']) {
      const res = await open('live', { 'Last-Event-ID': id });
      expect({ id, status: res.status }).toEqual({ id, status: 400 });
      expect(JSON.parse(res.body)).toMatchObject({ details: [expect.objectContaining({ field: 'Last-Event-ID' })] });
    }
    expect((await open('live', {}, '&after=-1')).status).toBe(400);
  });

  it('streams new events live as SSE frames: id <session>:<sequence>, event type, the envelope', async () => {
    const before = await append(t, 'live', 2, 'old');
    const stream = track(await open('live'));
    expect(stream.status).toBe(200);
    expect(stream.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(stream.headers['cache-control']).toBe('no-store, no-transform');
    const sequences = await append(t, 'live', 3, 'new');
    const frames = await stream.waitForFrames(3);
    expect(frames.map((f) => f.id)).toEqual(sequences.map((s) => `live:${s}`));
    expect(frames.map((f) => f.event)).toEqual(['test.event', 'test.event', 'test.event']);
    const envelopes = frames.map((f) => JSON.parse(f.data) as EventEnvelope);
    expect(envelopes.map((e) => e.sequence)).toEqual([before[1]! + 1, before[1]! + 2, before[1]! + 3]);
    for (const e of envelopes) {
      expect(e).toEqual({ id: expect.stringMatching(/^evt_[0-9a-f]{32}$/), event: 'test.event', session: 'live', sequence: expect.any(Number), timestamp: expect.any(String), data: { tag: 'new', i: expect.any(Number) } });
    }
    // The same envelopes the catch-up route serves.
    const page = await t.http.get(`/api/sessions/live/events?after=${before[1]}`).set('X-Api-Key', t.apiKey);
    expect(page.body.items).toEqual(envelopes);
    // Heartbeats are comments, which EventSource ignores.
    await waitFor(() => stream.comments.includes('heartbeat'), 'a heartbeat comment', 5000);
    // ?after=0 replays the kept history first.
    const history = track(await open('live', {}, '&after=0'));
    await history.waitForFrames(5);
    expect(sequencesOf(history)).toEqual([1, 2, 3, 4, 5]);
  });

  it('resumes after a dropped connection with Last-Event-ID: exactly the missed events, in order, then live', async () => {
    const first = track(await open('resume'));
    const seen = await append(t, 'resume', 4, 'a');
    await first.waitForFrames(4);
    const lastId = first.frames[first.frames.length - 1]!.id!;
    expect(lastId).toBe(`resume:${seen[3]}`);
    first.close();
    await waitFor(() => first.ended(), 'the first connection to end');

    const missed = await append(t, 'resume', 150, 'b'); // more than one page of the log
    const second = track(await open('resume', { 'Last-Event-ID': lastId }));
    await second.waitForFrames(missed.length);
    // The last of these is a sentinel: a duplicate or stray frame would arrive before it and show below.
    const live = await append(t, 'resume', 2, 'c');
    await second.waitForFrames(missed.length + live.length);
    expect(sequencesOf(second)).toEqual([...missed, ...live]);
    expect(second.frames.map((f) => (JSON.parse(f.data) as EventEnvelope).data.tag)).toEqual([...missed.map(() => 'b'), ...live.map(() => 'c')]);
  });

  it('delivers events appended by another replica (Redis hint, not the poll)', async () => {
    const here = track(await open('cluster'));
    const there = track(await open('cluster', {}, '', replica));
    const fromReplica = await append(replica, 'cluster', 3, 'replica');
    const fromHere = await append(t, 'cluster', 2, 'here');
    // The poll is 10 minutes long here: only the hints can bring them within the wait.
    await here.waitForFrames(5, 5000);
    await there.waitForFrames(5, 5000);
    expect(sequencesOf(here)).toEqual([...fromReplica, ...fromHere]);
    expect(sequencesOf(there)).toEqual([...fromReplica, ...fromHere]);
  });

  it('accepts the browser session cookie (a GET: no X-Requested-With needed)', async () => {
    const signIn = await t.http.post('/api/auth/session').send({ apiKey: t.apiKey });
    const cookie = ([] as string[]).concat(signIn.headers['set-cookie'] ?? [])[0]!.split(';')[0]!;
    const stream = track(await openSse(t.baseUrl, '/api/events/stream?session=live', { Cookie: cookie }));
    expect(stream.status).toBe(200);
    await append(t, 'live', 1, 'cookie');
    await stream.waitForFrames(1);
  });

  it('ends open streams when the application shuts down, so the HTTP server can close', async () => {
    const third = await startTestApp({ APP_ROLE: 'api', INSTANCE_ID: 'stream-c' }, t.env);
    const stream = await open('live', {}, '', third);
    expect(stream.status).toBe(200);
    const started = Date.now();
    await third.close();
    expect(stream.ended()).toBe(true);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('counts open streams in zaphub_event_stream_clients', async () => {
    const gauge = async (app: TestApp) => {
      const text = (await app.http.get('/metrics')).text;
      const m = /^zaphub_event_stream_clients (\d+)$/m.exec(text);
      if (!m) throw new Error('zaphub_event_stream_clients missing from /metrics');
      return Number(m[1]);
    };
    await waitFor(async () => (await gauge(t)) === 0, 'no stream left open by earlier tests');
    const a = track(await open('live'));
    const b = track(await open('resume'));
    await waitFor(async () => (await gauge(t)) === 2, 'two streams counted');
    expect(await gauge(replica)).toBe(0);
    a.close();
    await waitFor(async () => (await gauge(t)) === 1, 'one stream after a client left');
    b.close();
    await waitFor(async () => (await gauge(t)) === 0, 'no stream after both left');
  });
});
