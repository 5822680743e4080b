import { openSse } from '../helpers/sse-client';
import { startTestApp, type TestApp } from '../helpers/test-app';

/**
 * Every /api route of the OpenAPI document needs X-Api-Key: without it, or
 * with a wrong one, the answer is 401 with the contract's JSON error body.
 * Probes and /metrics are open (unless METRICS_TOKEN is set).
 */
interface Operation {
  method: string;
  path: string;
  /** Answers text/event-stream: with the right key it streams until the client hangs up. */
  streams: boolean;
}

const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;

function expectUnauthorized(res: { status: number; body: Record<string, unknown>; headers: Record<string, string> }, what: string) {
  if (res.status !== 401) throw new Error(`${what}: expected 401, got ${res.status} ${JSON.stringify(res.body)}`);
  expect(res.headers['content-type']).toMatch(/application\/json/);
  expect(res.body).toMatchObject({ statusCode: 401, error: 'Unauthorized', message: expect.any(String), requestId: expect.any(String) });
  expect(JSON.stringify(res.body)).not.toMatch(/\bat .+\(.+:\d+:\d+\)/); // no stack trace
}

describe('API key on every /api route (SANDBOX=true, so the sandbox routes are listed too)', () => {
  let t: TestApp;
  let operations: Operation[];

  beforeAll(async () => {
    t = await startTestApp({ SANDBOX: 'true' });
    const doc = await t.http.get('/docs-json');
    expect(doc.status).toBe(200);
    const paths = doc.body.paths as Record<string, Record<string, unknown>>;
    operations = Object.entries(paths)
      .filter(([path]) => path === '/api' || path.startsWith('/api/'))
      .flatMap(([path, item]) =>
        METHODS.filter((m) => item[m]).map((method) => ({
          method,
          path: path.replace(/\{[^}]+\}/g, 'x1'),
          streams: JSON.stringify(item[method]).includes('text/event-stream'),
        })),
      );
  });
  afterAll(async () => {
    await t?.close();
  });

  it('finds the API in the OpenAPI document (the checks below are not vacuous)', () => {
    const listed = operations.map((o) => `${o.method.toUpperCase()} ${o.path}`);
    expect(listed).toEqual(
      expect.arrayContaining(['GET /api/queues', 'GET /api/queues/x1/failed', 'POST /api/queues/pause', 'POST /api/queues/resume', 'POST /api/queues/x1/clean']),
    );
    expect(operations.length).toBeGreaterThanOrEqual(5);
    expect(operations.filter((o) => o.streams).map((o) => o.path)).toEqual(['/api/events/stream']);
  });

  it('answers 401 JSON to every documented /api operation without a key and with a wrong key', async () => {
    for (const { method, path } of operations) {
      const missing = await t.http[method as (typeof METHODS)[number]](path).send(method === 'get' || method === 'delete' ? undefined : {});
      expectUnauthorized(missing, `${method.toUpperCase()} ${path} without key`);
      const wrong = await t.http[method as (typeof METHODS)[number]](path)
        .set('X-Api-Key', `${t.apiKey}-wrong`)
        .send(method === 'get' || method === 'delete' ? undefined : {});
      expectUnauthorized(wrong, `${method.toUpperCase()} ${path} with a wrong key`);
      const empty = await t.http[method as (typeof METHODS)[number]](path).set('X-Api-Key', '');
      expectUnauthorized(empty, `${method.toUpperCase()} ${path} with an empty key`);
    }
  });

  it('lets every documented /api operation past the guard with the right key', async () => {
    // Signing out needs the session cookie itself: with the key and no cookie it is a 401 (CONTRACT.md).
    const needsCookie = new Set(['delete /api/auth/session']);
    for (const { method, path, streams } of operations.filter((o) => !needsCookie.has(`${o.method} ${o.path}`))) {
      if (streams) {
        // A stream never ends on its own (the all-sessions stream has no session to miss):
        // read the status from its headers, then hang up.
        const stream = await openSse(t.baseUrl, path, { 'X-Api-Key': t.apiKey });
        stream.close();
        if (stream.status === 401) throw new Error(`${method.toUpperCase()} ${path} refused the right key: ${stream.body}`);
        continue;
      }
      const res = await t.http[method as (typeof METHODS)[number]](path)
        .set('X-Api-Key', t.apiKey)
        .send(method === 'get' || method === 'delete' ? undefined : {});
      if (res.status === 401) throw new Error(`${method.toUpperCase()} ${path} refused the right key: ${JSON.stringify(res.body)}`);
    }
  });

  it('cannot be bypassed by spelling the path differently', async () => {
    // Express routes case-insensitively and ignores one trailing slash: the first three ARE
    // /api/queues, so the guard must answer them (401 without a key, 200 with it). No route
    // matches the others at all (404 with or without a key): there is nothing to bypass.
    const variants: Array<[path: string, withoutKey: 401 | 404, withKey: 200 | 404]> = [
      ['/API/queues', 401, 200],
      ['/Api/Queues', 401, 200],
      ['/api/queues/', 401, 200],
      ['/api//queues', 404, 404],
      ['//api/queues', 404, 404],
      ['/api/./queues', 404, 404],
      ['/%61pi/queues', 404, 404],
    ];
    const seen: Array<[string, number, number]> = [];
    for (const [path, withoutKey] of variants) {
      const res = await t.http.get(path);
      const keyed = await t.http.get(path).set('X-Api-Key', t.apiKey);
      seen.push([path, res.status, keyed.status]);
      if (withoutKey === 401) expectUnauthorized(res, `GET ${path}`);
      else expect(res.body).toMatchObject({ statusCode: 404, error: 'Not Found', message: expect.any(String), requestId: expect.any(String) });
    }
    expect(seen).toEqual(variants);
  });

  it('rejects a key that differs only in case or by a trailing character', async () => {
    expectUnauthorized(await t.http.get('/api/queues').set('X-Api-Key', t.apiKey.toUpperCase()), 'upper-cased key');
    expectUnauthorized(await t.http.get('/api/queues').set('X-Api-Key', `${t.apiKey}x`), 'key with an extra character');
    expectUnauthorized(await t.http.get('/api/queues').set('X-Api-Key', t.apiKey.slice(0, -1)), 'truncated key');
    expectUnauthorized(await t.http.get('/api/queues').set('Authorization', `Bearer ${t.apiKey}`), 'key in Authorization');
    expectUnauthorized(await t.http.get(`/api/queues?apiKey=${t.apiKey}`), 'key in the query string');
  });

  it('keeps the probes, the docs and /metrics open', async () => {
    for (const path of ['/health/live', '/health/ready', '/health/startup', '/metrics', '/docs-json']) {
      const res = await t.http.get(path);
      expect({ path, status: res.status }).toEqual({ path, status: 200 });
    }
  });
});

describe('METRICS_TOKEN', () => {
  let t: TestApp;
  const token = 'scrape-token-0123456789';

  beforeAll(async () => {
    t = await startTestApp({ METRICS_TOKEN: token });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('requires Authorization: Bearer <token> on /metrics', async () => {
    expectUnauthorized(await t.http.get('/metrics'), 'no token');
    expectUnauthorized(await t.http.get('/metrics').set('Authorization', `Bearer ${token}x`), 'wrong token');
    expectUnauthorized(await t.http.get('/metrics').set('Authorization', token), 'token without Bearer');
    expectUnauthorized(await t.http.get('/metrics').set('X-Api-Key', t.apiKey), 'API key instead of the token');
    const ok = await t.http.get('/metrics').set('Authorization', `Bearer ${token}`);
    expect(ok.status).toBe(200);
    expect(ok.text).toContain('zaphub_queue_jobs');
  });

  it('leaves the probes open', async () => {
    expect((await t.http.get('/health/live')).status).toBe(200);
    expect((await t.http.get('/health/ready')).status).toBe(200);
  });
});
