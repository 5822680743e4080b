import { Queue, Worker } from 'bullmq';
import { startTestApp, type TestApp } from '../helpers/test-app';
import { waitFor } from '../helpers/test-env';

/**
 * Client mistakes get the contract's JSON error bodies (400 naming fields,
 * 404, 413), never a 5xx, never a stack trace; and the queue admin routes work
 * against real BullMQ queues. APP_ROLE=api: no processor of the app competes
 * with the jobs this test creates.
 */
const QUEUE = 'webhook-delivery';

function expectError(res: { status: number; body: Record<string, unknown>; headers: Record<string, string> }, status: number, error: string) {
  expect({ status: res.status, body: res.body }).toEqual({
    status,
    body: expect.objectContaining({ statusCode: status, error, message: expect.any(String), requestId: expect.any(String) }),
  });
  expect(res.headers['content-type']).toMatch(/application\/json/);
  expect((res.body.requestId as string).length).toBeGreaterThan(0);
  expect(res.body).not.toHaveProperty('stack');
  expect(JSON.stringify(res.body)).not.toMatch(/\bat .+:\d+:\d+|node_modules/);
}

const fields = (body: Record<string, unknown>) => [...new Set((body.details as { field: string }[]).map((d) => d.field))].sort();

describe('errors and queue admin routes', () => {
  let t: TestApp;
  const key = () => t.apiKey;

  beforeAll(async () => {
    t = await startTestApp({ APP_ROLE: 'api' });
  });
  afterAll(async () => {
    await t?.close();
  });

  describe('400 for bad bodies and queries, naming each field', () => {
    it('names the bad olderThanMs and state', async () => {
      const res = await t.http.post(`/api/queues/${QUEUE}/clean`).set('X-Api-Key', key()).send({ olderThanMs: -5, state: 'gone' });
      expectError(res, 400, 'Bad Request');
      expect(fields(res.body)).toEqual(['olderThanMs', 'state']);
      expect(res.body.message).toMatch(/olderThanMs/);
    });

    it('rejects a number sent as a string and a missing field', async () => {
      const res = await t.http.post(`/api/queues/${QUEUE}/clean`).set('X-Api-Key', key()).send({ olderThanMs: '1000' });
      expectError(res, 400, 'Bad Request');
      expect(fields(res.body)).toEqual(['olderThanMs', 'state']);
    });

    it('rejects an unknown field by name', async () => {
      const res = await t.http
        .post(`/api/queues/${QUEUE}/clean`)
        .set('X-Api-Key', key())
        .send({ olderThanMs: 0, state: 'failed', force: true });
      expectError(res, 400, 'Bad Request');
      expect(fields(res.body)).toEqual(['force']);
    });

    it('answers an empty body, a JSON array, JSON null and a text body with 400, not 5xx', async () => {
      const url = `/api/queues/${QUEUE}/clean`;
      const empty = await t.http.post(url).set('X-Api-Key', key());
      expectError(empty, 400, 'Bad Request');
      expect(fields(empty.body)).toEqual(['olderThanMs', 'state']);
      expectError(await t.http.post(url).set('X-Api-Key', key()).set('Content-Type', 'application/json').send('[]'), 400, 'Bad Request');
      expectError(await t.http.post(url).set('X-Api-Key', key()).set('Content-Type', 'application/json').send('null'), 400, 'Bad Request');
      expectError(await t.http.post(url).set('X-Api-Key', key()).set('Content-Type', 'text/plain').send('olderThanMs=1'), 400, 'Bad Request');
    });

    it('validates the failed-jobs limit', async () => {
      for (const limit of ['0', '1001', 'ten', '2.5']) {
        const res = await t.http.get(`/api/queues/${QUEUE}/failed?limit=${limit}`).set('X-Api-Key', key());
        expectError(res, 400, 'Bad Request');
        expect(fields(res.body)).toEqual(['limit']);
      }
      const unknown = await t.http.get(`/api/queues/${QUEUE}/failed?limit=5&state=all`).set('X-Api-Key', key());
      expectError(unknown, 400, 'Bad Request');
      expect(fields(unknown.body)).toEqual(['state']);
    });

    it('does not coerce the failed-jobs limit: only a decimal integer is read as a number', async () => {
      for (const limit of ['0x10', '1e2', '%205', '5%20', '+5', '5.0']) {
        const res = await t.http.get(`/api/queues/${QUEUE}/failed?limit=${limit}`).set('X-Api-Key', key());
        expectError(res, 400, 'Bad Request');
        expect({ limit, fields: fields(res.body) }).toEqual({ limit, fields: ['limit'] });
      }
      const repeated = await t.http.get(`/api/queues/${QUEUE}/failed?limit=5&limit=6`).set('X-Api-Key', key());
      expectError(repeated, 400, 'Bad Request');
      expect(fields(repeated.body)).toEqual(['limit']);
      const ok = await t.http.get(`/api/queues/${QUEUE}/failed?limit=16`).set('X-Api-Key', key());
      expect(ok.status).toBe(200);
    });

    it('refuses null and arrays where a value belongs, naming the field', async () => {
      const url = `/api/queues/${QUEUE}/clean`;
      for (const [body, field] of [
        [{ olderThanMs: null, state: 'failed' }, 'olderThanMs'],
        [{ olderThanMs: [0], state: 'failed' }, 'olderThanMs'],
        [{ olderThanMs: 0, state: ['failed'] }, 'state'],
        [{ olderThanMs: true, state: 'failed' }, 'olderThanMs'],
      ] as const) {
        const res = await t.http.post(url).set('X-Api-Key', key()).send(body);
        expectError(res, 400, 'Bad Request');
        expect({ body, fields: fields(res.body) }).toEqual({ body, fields: [field] });
      }
    });

    it('answers malformed JSON with a 400 JSON error', async () => {
      const res = await t.http
        .post(`/api/queues/${QUEUE}/clean`)
        .set('X-Api-Key', key())
        .set('Content-Type', 'application/json')
        .send('{"olderThanMs": 1,');
      expectError(res, 400, 'Bad Request');
      expect(res.body.message).toBe('Request body is not valid JSON');
      expect(JSON.stringify(res.body)).not.toContain('olderThanMs'); // the body is not echoed
    });
  });

  describe('404', () => {
    it('answers unknown routes and methods with 404 JSON', async () => {
      expectError(await t.http.get('/nope'), 404, 'Not Found');
      expectError(await t.http.get('/api/nope').set('X-Api-Key', key()), 404, 'Not Found');
      expectError(await t.http.delete('/api/queues').set('X-Api-Key', key()), 404, 'Not Found');
    });

    it('answers unknown queue names with 404 JSON naming the known queues', async () => {
      for (const req of [
        t.http.get('/api/queues/no-such-queue/failed').set('X-Api-Key', key()),
        t.http.post('/api/queues/no-such-queue/clean').set('X-Api-Key', key()).send({ olderThanMs: 0, state: 'failed' }),
      ]) {
        const res = await req;
        expectError(res, 404, 'Not Found');
        expect(res.body.message).toMatch(/no-such-queue.*message-send/);
      }
    });
  });

  it('reuses a sane incoming X-Request-Id in error bodies', async () => {
    const res = await t.http.get('/nope').set('X-Request-Id', 'trace-abc_123');
    expectError(res, 404, 'Not Found');
    expect(res.body.requestId).toBe('trace-abc_123');
    const insane = await t.http.get('/nope').set('X-Request-Id', 'bad id <script>');
    expect(insane.body.requestId).not.toContain('<');
  });

  describe('queue admin routes', () => {
    let queue: Queue;
    let worker: Worker | undefined;

    beforeAll(() => {
      queue = new Queue(QUEUE, { connection: { url: t.env.env.REDIS_URL }, prefix: t.env.redisPrefix });
    });
    afterAll(async () => {
      await worker?.close();
      await queue.close();
    });

    it('lists every queue with its counts', async () => {
      const res = await t.http.get('/api/queues').set('X-Api-Key', key());
      expect(res.status).toBe(200);
      // The seven queues of the contract and media-download.
      expect(res.body).toHaveLength(8);
      for (const q of res.body) {
        expect(q).toEqual({
          name: expect.any(String),
          waiting: expect.any(Number),
          active: expect.any(Number),
          delayed: expect.any(Number),
          completed: expect.any(Number),
          failed: expect.any(Number),
          paused: false,
        });
      }
    });

    it('shows failed jobs (newest first, limited) and cleans them', async () => {
      worker = new Worker(
        QUEUE,
        async (job) => {
          throw new Error(`boom ${job.data.deliveryId}`);
        },
        { connection: { url: t.env.env.REDIS_URL, maxRetriesPerRequest: null }, prefix: t.env.redisPrefix },
      );
      await queue.add(QUEUE, { deliveryId: 'first' }, { attempts: 1 });
      await queue.add(QUEUE, { deliveryId: 'second' }, { attempts: 1 });
      const counts = async () =>
        ((await t.http.get('/api/queues').set('X-Api-Key', key())).body as { name: string; failed: number }[]).find((q) => q.name === QUEUE)!;
      await waitFor(async () => (await counts()).failed === 2, 'two failed jobs in the counts');

      const all = await t.http.get(`/api/queues/${QUEUE}/failed`).set('X-Api-Key', key());
      expect(all.status).toBe(200);
      expect(all.body.map((j: { failedReason: string }) => j.failedReason).sort()).toEqual(['boom first', 'boom second']);
      expect(all.body[0]).toMatchObject({ id: expect.any(String), name: QUEUE, attemptsMade: 1, timestamp: expect.any(String), finishedOn: expect.any(String) });
      const one = await t.http.get(`/api/queues/${QUEUE}/failed?limit=1`).set('X-Api-Key', key());
      expect(one.body).toHaveLength(1);

      const tooRecent = await t.http.post(`/api/queues/${QUEUE}/clean`).set('X-Api-Key', key()).send({ olderThanMs: 3_600_000, state: 'failed' });
      expect({ status: tooRecent.status, body: tooRecent.body }).toEqual({ status: 200, body: { removed: 0 } });
      const cleaned = await t.http.post(`/api/queues/${QUEUE}/clean`).set('X-Api-Key', key()).send({ olderThanMs: 0, state: 'failed' });
      expect({ status: cleaned.status, body: cleaned.body }).toEqual({ status: 200, body: { removed: 2 } });
      expect((await t.http.get(`/api/queues/${QUEUE}/failed`).set('X-Api-Key', key())).body).toEqual([]);
      expect((await counts()).failed).toBe(0);
    });

    it('pauses and resumes every queue, reflected in paused', async () => {
      const paused = await t.http.post('/api/queues/pause').set('X-Api-Key', key());
      expect({ status: paused.status, body: paused.body }).toEqual({ status: 200, body: { paused: true } });
      let list = await t.http.get('/api/queues').set('X-Api-Key', key());
      expect(list.body.map((q: { paused: boolean }) => q.paused)).toEqual(Array(8).fill(true));
      expect(await queue.isPaused()).toBe(true); // really paused in Redis, for every replica

      const resumed = await t.http.post('/api/queues/resume').set('X-Api-Key', key());
      expect({ status: resumed.status, body: resumed.body }).toEqual({ status: 200, body: { paused: false } });
      list = await t.http.get('/api/queues').set('X-Api-Key', key());
      expect(list.body.map((q: { paused: boolean }) => q.paused)).toEqual(Array(8).fill(false));
    });
  });
});

describe('BODY_LIMIT', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ APP_ROLE: 'api', BODY_LIMIT: '1kb' });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('answers a body above the limit with 413 JSON, and accepts one below it', async () => {
    const big = { olderThanMs: 0, state: 'failed', padding: 'x'.repeat(2048) };
    const res = await t.http.post(`/api/queues/${QUEUE}/clean`).set('X-Api-Key', t.apiKey).send(big);
    expectError(res, 413, 'Payload Too Large');
    expect(JSON.stringify(res.body)).not.toContain('xxxx');
    const small = await t.http.post(`/api/queues/${QUEUE}/clean`).set('X-Api-Key', t.apiKey).send({ olderThanMs: 0, state: 'failed' });
    expect(small.status).toBe(200);
  });

  it('checks the limit before the API key (no body is buffered for unauthenticated clients beyond it)', async () => {
    const res = await t.http.post(`/api/queues/${QUEUE}/clean`).send({ padding: 'x'.repeat(4096) });
    expect([401, 413]).toContain(res.status);
    expect(res.headers['content-type']).toMatch(/application\/json/);
  });
});
