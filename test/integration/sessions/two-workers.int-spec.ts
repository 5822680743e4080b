import IORedis from 'ioredis';
import { SandboxNetwork } from '../../../src/modules/sandbox/network/sandbox-network';
import { COMPILED_MAIN, freePort, runNode, type NodeProcess } from '../../helpers/compiled-app';
import { query } from '../../helpers/db-query';
import { createTestEnv, TEST_API_KEY, waitFor, type TestEnv } from '../../helpers/test-env';

/**
 * Two worker processes (the compiled app) against one PostgreSQL, one Redis and
 * one external sandbox: each session runs on exactly one of them, and when its
 * owner is killed with SIGKILL the other one takes it over.
 */
describe('sessions across two worker processes', () => {
  let env: TestEnv;
  let network: SandboxNetwork;
  let redis: IORedis;
  const workers = new Map<string, { proc: NodeProcess; url: string }>();

  const api = async (worker: string, method: string, path: string, body?: unknown) => {
    const res = await fetch(`${workers.get(worker)!.url}${path}`, {
      method,
      headers: { 'X-Api-Key': TEST_API_KEY, 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json().catch(() => null)) as Record<string, unknown> };
  };
  const statusOf = async (worker: string, name: string) => (await api(worker, 'GET', `/api/sessions/${name}`)).body.status;
  const owners = async (ids: string[]) => {
    const values = await redis.mget(...ids.map((id) => `${env.redisPrefix}:lock:session:${id}`));
    return new Map(ids.map((id, i) => [id, values[i]]));
  };

  beforeAll(async () => {
    network = new SandboxNetwork({ fastPreKeys: true });
    await network.start();
    env = await createTestEnv();
    redis = new IORedis(env.env.REDIS_URL);
    for (const id of ['w1', 'w2']) {
      const port = await freePort();
      const proc = runNode(COMPILED_MAIN, {
        ...env.env,
        PORT: String(port),
        INSTANCE_ID: id,
        SANDBOX: 'true',
        SANDBOX_URL: network.wsUrl,
        SANDBOX_ROOT_KEY: network.rootPublicKey.toString('base64'),
        SESSION_LEASE_TTL_MS: '3000',
        STATUS_DEBOUNCE_MS: '0',
        LOG_LEVEL: 'warn',
      });
      workers.set(id, { proc, url: `http://127.0.0.1:${port}` });
    }
    for (const [id, w] of workers) {
      await waitFor(async () => {
        if (w.proc.hasExited()) throw new Error(`${id} exited: ${w.proc.output()}`);
        return (await fetch(`${w.url}/health/startup`).catch(() => null))?.status === 200;
      }, `${id} to start`, 60000, 100);
    }
  });

  afterAll(async () => {
    for (const w of workers.values()) if (!w.proc.hasExited()) w.proc.child.kill('SIGTERM');
    await Promise.all([...workers.values()].map((w) => w.proc.exited));
    redis?.disconnect();
    await network?.close();
    await env?.cleanup();
  });

  it('runs each session on exactly one worker and fails over after kill -9 of its owner', async () => {
    const names = ['mw1', 'mw2', 'mw3', 'mw4'];
    for (const [i, name] of names.entries()) {
      expect((await api('w1', 'POST', '/api/sessions', { name })).status).toBe(201);
      await waitFor(async () => (await statusOf('w1', name)) === 'SCAN_QR', `${name} QR`, 30000, 50);
      const qr = (await api('w2', 'GET', `/api/sessions/${name}/qr`)).body.value as string;
      await network.scan(name, qr, { phone: `551193000000${i}` });
    }
    for (const name of names) await waitFor(async () => (await statusOf('w2', name)) === 'WORKING', `${name} WORKING`, 30000, 50);

    const rows = await query<{ id: string; name: string }>(env.databaseUrl, 'SELECT id, name FROM "Session"');
    const idOf = new Map(rows.map((r) => [r.name, r.id]));
    const ids = names.map((n) => idOf.get(n)!);
    const before = await owners(ids);
    for (const id of ids) expect(['w1', 'w2']).toContain(before.get(id));
    for (const name of names) expect(network.sessionState(name)).toBe('online');
    // Exactly one worker connects each session: counted where it matters, at (fake) WhatsApp.
    expect(names.map((name) => network.sessionConnections(name))).toEqual(names.map(() => 1));

    // Kill the owner of mw1 without any chance to clean up.
    const victim = before.get(ids[0])!;
    const survivor = victim === 'w1' ? 'w2' : 'w1';
    workers.get(victim)!.proc.child.kill('SIGKILL');
    await workers.get(victim)!.proc.exited;
    const orphaned = ids.filter((id) => before.get(id) === victim);

    await waitFor(async () => {
      const now = await owners(orphaned);
      return orphaned.every((id) => now.get(id) === survivor);
    }, `the survivor ${survivor} to adopt ${orphaned.length} session(s)`, 45000, 200);
    for (const name of names) {
      await waitFor(async () => (await statusOf(survivor, name)) === 'WORKING' && network.sessionState(name) === 'online', `${name} online again`, 30000, 100);
    }
    const after = await owners(ids);
    for (const id of ids) expect(after.get(id)).toBe(survivor);
    expect(names.map((name) => network.sessionConnections(name))).toEqual(names.map(() => 1));
  });
});
