import { LifecycleService } from '../../src/infra/lifecycle/lifecycle.service';
import { TcpProxy } from '../helpers/tcp-proxy';
import { startTestApp, type TestApp } from '../helpers/test-app';
import { createTestEnv, waitFor, type TestEnv } from '../helpers/test-env';

/**
 * The probes against the real app whose PostgreSQL and Redis are reached
 * through TCP proxies that the test breaks after boot: readiness turns 503 and
 * names the dependency, liveness stays 200 (it never checks dependencies), and
 * readiness recovers when the dependency comes back.
 */
interface Probe {
  status: number;
  body: { status: string; info?: Record<string, unknown>; error?: Record<string, { status: string; message?: string }> };
  ms: number;
}

describe('health probes with PostgreSQL and Redis behind breakable proxies', () => {
  let env: TestEnv;
  let pg: TcpProxy;
  let redis: TcpProxy;
  let t: TestApp;

  const probe = async (path: string): Promise<Probe> => {
    const started = Date.now();
    const res = await fetch(`${t.baseUrl}${path}`, { signal: AbortSignal.timeout(15000) });
    return { status: res.status, body: (await res.json()) as Probe['body'], ms: Date.now() - started };
  };
  const readyIs = (status: number) => async () => (await probe('/health/ready')).status === status;

  beforeAll(async () => {
    env = await createTestEnv();
    const db = new URL(env.databaseUrl);
    const rd = new URL(env.env.REDIS_URL);
    pg = await TcpProxy.start(db.hostname, Number(db.port || 5432));
    redis = await TcpProxy.start(rd.hostname, Number(rd.port || 6379));
    db.hostname = '127.0.0.1';
    db.port = String(pg.port);
    rd.hostname = '127.0.0.1';
    rd.port = String(redis.port);
    t = await startTestApp({ DATABASE_URL: db.toString(), REDIS_URL: rd.toString() }, env);
  });

  afterAll(async () => {
    await pg?.restore();
    await redis?.restore();
    await t?.close();
    // Let the app's connections finish closing before the proxies go away. Cleanup, not a check:
    // after 5 s the proxies' close() ends whatever is left (leaks are other tests' subject).
    await waitFor(() => (pg?.connections ?? 0) === 0 && (redis?.connections ?? 0) === 0, 'connections closed', 5000).catch(() => undefined);
    await pg?.close();
    await redis?.close();
    await env?.cleanup();
  });

  afterEach(async () => {
    // Every test leaves both dependencies working.
    await pg.restore();
    await redis.restore();
  });

  it('reports startup, liveness and readiness 200 once booted, through the proxies', async () => {
    expect((await probe('/health/startup')).status).toBe(200);
    expect((await probe('/health/live')).status).toBe(200);
    const ready = await probe('/health/ready');
    expect(ready.status).toBe(200);
    expect(ready.body.info).toMatchObject({ database: { status: 'up' }, redis: { status: 'up' }, shutdown: { status: 'up' } });
    expect(pg.connections).toBeGreaterThan(0);
    expect(redis.connections).toBeGreaterThan(0);
  });

  it.each([
    ['PostgreSQL', 'database', () => pg],
    ['Redis', 'redis', () => redis],
  ] as const)('%s unreachable: ready 503 naming it, live 200, ready 200 again once it is back', async (_name, indicator, proxy) => {
    await proxy().cut();
    await waitFor(readyIs(503), 'ready 503');
    const ready = await probe('/health/ready');
    expect(ready.status).toBe(503);
    expect(ready.body.status).toBe('error');
    expect(ready.body.error?.[indicator]?.status).toBe('down');
    const live = await probe('/health/live');
    expect(live.status).toBe(200);
    expect(live.ms).toBeLessThan(1000);

    await proxy().restore();
    await waitFor(readyIs(200), 'ready 200 after restore', 20000);
  });

  it.each([
    ['PostgreSQL', 'database', () => pg],
    ['Redis', 'redis', () => redis],
  ] as const)('%s stalled (no answer at all): ready answers 503 within the probe timeout, not hanging', async (_name, indicator, proxy) => {
    await waitFor(readyIs(200), 'ready 200 before the stall');
    proxy().stall();
    const ready = await probe('/health/ready');
    expect(ready.status).toBe(503);
    expect(ready.body.error?.[indicator]).toMatchObject({ status: 'down', message: expect.stringMatching(/timed out/) });
    expect(ready.ms).toBeLessThan(3500); // 2 s probe timeout plus slack
    expect((await probe('/health/live')).status).toBe(200);

    await proxy().restore();
    await waitFor(readyIs(200), 'ready 200 after the stall ends', 20000);
  });

  it('turns ready 503 once shutdown has begun while live stays 200', async () => {
    await waitFor(readyIs(200), 'ready 200');
    t.app.get(LifecycleService).beginShutdown();
    const ready = await probe('/health/ready');
    expect(ready.status).toBe(503);
    expect(ready.body.error?.shutdown).toMatchObject({ status: 'down', message: 'shutting down' });
    expect((await probe('/health/live')).status).toBe(200);
  });
});
