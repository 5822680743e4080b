import { TcpProxy } from '../helpers/tcp-proxy';
import { startTestApp, type TestApp } from '../helpers/test-app';
import { createTestEnv, waitFor, type TestEnv } from '../helpers/test-env';

/**
 * PostgreSQL unreachable (the contract: every route that needs it answers 503
 * with Retry-After, never 500, never a hang): the real app reaches its
 * database through a TCP proxy that the test breaks after boot (migrations
 * are checked at boot, so the app starts while the proxy is up). APP_ROLE=api:
 * HTTP only, no worker competing for the database.
 */
interface Answer {
  status: number;
  headers: Headers;
  text: string;
  body: Record<string, unknown> | null;
  ms: number;
}

const SEEDED = 'seeded';
const SOME_MESSAGE = '0b3c6f5e-8a52-4d7e-9b1f-2f6c1d0e9a11';

/** Every session route, with a valid request (so only the database can make it fail). */
const ROUTES: [method: string, path: string, body?: unknown][] = [
  ['GET', '/api/sessions'],
  ['POST', '/api/sessions', { name: 'made-while-down', start: false }],
  ['GET', `/api/sessions/${SEEDED}`],
  ['PATCH', `/api/sessions/${SEEDED}`, { config: { rateLimitPerMinute: 10 } }],
  ['POST', `/api/sessions/${SEEDED}/start`],
  ['POST', `/api/sessions/${SEEDED}/stop`],
  ['POST', `/api/sessions/${SEEDED}/restart`],
  ['POST', `/api/sessions/${SEEDED}/logout`],
  ['POST', `/api/sessions/${SEEDED}/reconnect`],
  ['POST', `/api/sessions/${SEEDED}/circuit/reset`],
  ['GET', `/api/sessions/${SEEDED}/qr`],
  ['POST', `/api/sessions/${SEEDED}/pairing-code`, { phoneNumber: '+55 11 99999-8888' }],
  ['DELETE', `/api/sessions/${SEEDED}`],
  ['GET', '/api/pool'],
  ['POST', `/api/sessions/${SEEDED}/messages`, { to: '5511999998888', type: 'text', text: 'while down' }],
  ['GET', `/api/sessions/${SEEDED}/messages`],
  ['GET', `/api/messages/${SOME_MESSAGE}`],
  ['POST', `/api/messages/${SOME_MESSAGE}/retry`],
  ['DELETE', `/api/messages/${SOME_MESSAGE}`],
];

describe('PostgreSQL unreachable: 503 with Retry-After', () => {
  let env: TestEnv;
  let pg: TcpProxy;
  let t: TestApp;

  const call = async (method: string, path: string, body?: unknown, timeoutMs = 20000): Promise<Answer> => {
    const started = Date.now();
    const res = await fetch(`${t.baseUrl}${path}`, {
      method,
      headers: { 'X-Api-Key': t.apiKey, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    }).catch((error: unknown) => {
      throw new Error(`${method} ${path} got no answer within ${timeoutMs} ms (${String(error)})`);
    });
    const text = await res.text();
    let parsed: Record<string, unknown> | null = null;
    try {
      parsed = JSON.parse(text) as Record<string, unknown>;
    } catch {
      parsed = null;
    }
    return { status: res.status, headers: res.headers, text, body: parsed, ms: Date.now() - started };
  };

  const expectUnavailable = (answer: Answer, label: string) => {
    expect({ label, status: answer.status, retryAfter: answer.headers.get('retry-after'), type: answer.headers.get('content-type') }).toEqual({
      label,
      status: 503,
      retryAfter: '5',
      type: expect.stringMatching(/^application\/json/),
    });
    expect(answer.body).toEqual({
      statusCode: 503,
      error: 'Service Unavailable',
      message: 'Database unavailable, retry later',
      requestId: expect.any(String),
    });
    // No stack trace, no Prisma call site or code frame, no connection details.
    expect(answer.text).not.toMatch(/\bat .+:\d+:\d+|node_modules|prisma|Invalid `|127\.0\.0\.1|ECONN/i);
  };

  beforeAll(async () => {
    env = await createTestEnv({ APP_ROLE: 'api' });
    const db = new URL(env.databaseUrl);
    pg = await TcpProxy.start(db.hostname, Number(db.port || 5432));
    db.hostname = '127.0.0.1';
    db.port = String(pg.port);
    t = await startTestApp({ APP_ROLE: 'api', DATABASE_URL: db.toString() }, env);
    const seeded = await call('POST', '/api/sessions', { name: SEEDED, start: false });
    expect(seeded.status).toBe(201);
    expect(pg.connections).toBeGreaterThan(0); // the app really goes through the proxy
  });

  afterAll(async () => {
    await pg?.restore();
    await t?.close();
    // Cleanup, not a check: let the app's connections close before the proxy goes away.
    await waitFor(() => (pg?.connections ?? 0) === 0, 'connections closed', 5000).catch(() => undefined);
    await pg?.close();
    await env?.cleanup();
  });

  afterEach(async () => {
    await pg.restore();
  });

  it('refused and reset connections: every session route answers 503 with Retry-After at once, no stack, and creates nothing', async () => {
    expect((await call('GET', '/api/sessions')).status).toBe(200); // a pooled connection is open: the cut resets it
    await pg.cut();
    for (const [method, path, body] of ROUTES) {
      const answer = await call(method, path, body);
      expectUnavailable(answer, `${method} ${path}`);
      expect(answer.ms).toBeLessThan(3000);
    }
    // The same routes, all at once.
    const concurrent = await Promise.all(ROUTES.map(([method, path, body]) => call(method, path, body)));
    concurrent.forEach((answer, i) => expectUnavailable(answer, `concurrent ${ROUTES[i][0]} ${ROUTES[i][1]}`));
    // Routes that do not need PostgreSQL keep working; liveness never checks it.
    expect((await call('GET', '/health/live')).status).toBe(200);
    // Unknown routes and client mistakes stay what they are.
    expect((await call('GET', '/api/nope')).status).toBe(404);
    expect((await call('POST', '/api/sessions', { name: 'bad name' })).status).toBe(400);

    await pg.restore();
    await waitFor(async () => (await call('GET', '/api/sessions')).status === 200, 'GET /api/sessions 200 after the restore', 20000);
    expect((await call('GET', '/api/sessions/made-while-down')).status).toBe(404);
    expect((await call('GET', `/api/sessions/${SEEDED}/messages`)).body).toEqual({ items: [], nextCursor: null });
  });

  it('works again once PostgreSQL is back: the same routes answer as usual', async () => {
    await pg.cut();
    expectUnavailable(await call('GET', '/api/sessions'), 'GET /api/sessions while cut');
    await pg.restore();
    await waitFor(async () => (await call('GET', '/api/sessions')).status === 200, 'GET /api/sessions 200 after the restore', 20000);

    const list = await call('GET', '/api/sessions');
    expect(list.body).toEqual(expect.arrayContaining([expect.objectContaining({ name: SEEDED })]));
    expect((await call('POST', '/api/sessions', { name: 'made-after', start: false })).status).toBe(201);
    expect((await call('GET', `/api/sessions/${SEEDED}`)).status).toBe(200);
    const patched = await call('PATCH', `/api/sessions/${SEEDED}`, { config: { rateLimitPerMinute: 10 } });
    expect({ status: patched.status, rate: (patched.body?.config as { rateLimitPerMinute?: number })?.rateLimitPerMinute }).toEqual({ status: 200, rate: 10 });
    const started = await call('POST', `/api/sessions/${SEEDED}/start`);
    expect(started.status).toBe(202);
    expect(started.headers.get('retry-after')).toBeNull();
  });

  it('stalled PostgreSQL (connections open, nothing answers): a 503 within seconds, not a hang', async () => {
    // A pooled connection exists right before the stall, and the next query takes it.
    expect((await call('GET', '/api/sessions')).status).toBe(200);
    pg.stall();
    const answer = await call('GET', `/api/sessions/${SEEDED}`, undefined, 20000);
    expectUnavailable(answer, 'GET while stalled');
    expect(answer.ms).toBeLessThan(15000);
    await pg.restore();
    await waitFor(async () => (await call('GET', '/api/sessions')).status === 200, 'GET /api/sessions 200 after the stall', 20000);
  });
});
