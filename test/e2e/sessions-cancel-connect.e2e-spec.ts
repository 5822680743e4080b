import { Client } from 'pg';
import { SandboxNetwork } from '../../src/modules/sandbox/network/sandbox-network';
import { sessionsApi } from '../helpers/sessions-api';
import { startTestApp, type TestApp } from '../helpers/test-app';
import { waitFor } from '../helpers/test-env';

/**
 * A session stopped while its connection is still being set up (the engine is
 * reading the auth state from PostgreSQL): the socket that connect() hands back
 * afterwards belongs to nobody and must be closed at once, and cancelling the
 * pending attempt must not surface as an unhandled rejection (which kills the
 * process under Node's default --unhandled-rejections=throw; `npm run
 * bench:sessions` interrupted while pairing crashed that way).
 *
 * The auth-state read is held deterministically with a table lock on AuthCreds.
 */
describe('cancelling a session while it connects', () => {
  let t: TestApp;
  let api: ReturnType<typeof sessionsApi>;
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => void unhandled.push(reason);

  beforeAll(async () => {
    t = await startTestApp({ SANDBOX: 'true', STATUS_DEBOUNCE_MS: '0' });
    api = sessionsApi(t);
    process.on('unhandledRejection', onUnhandled);
  });
  afterAll(async () => {
    process.off('unhandledRejection', onUnhandled);
    await t?.close();
  });

  /** Locks AuthCreds: every auth-state read waits until release(); waiting() counts the reads queued. */
  async function holdAuthState(): Promise<{ waiting(): Promise<number>; release(): Promise<void> }> {
    const locker = new Client({ connectionString: t.env.databaseUrl });
    await locker.connect();
    await locker.query('BEGIN');
    await locker.query('LOCK TABLE "AuthCreds" IN ACCESS EXCLUSIVE MODE');
    return {
      async waiting() {
        const { rows } = await locker.query(`SELECT count(*)::int AS n FROM pg_locks WHERE NOT granted AND relation = '"AuthCreds"'::regclass`);
        return rows[0].n as number;
      },
      async release() {
        await locker.query('COMMIT');
        await locker.end();
      },
    };
  }

  it('stop during connect: no socket is left running and nothing is rejected unhandled', async () => {
    const network = t.app.get(SandboxNetwork);
    const lock = await holdAuthState();
    try {
      await api.create('slowpoke');
      await api.waitForStatus('slowpoke', 'STARTING');
      await waitFor(() => lock.waiting(), 'the auth state read to wait for the lock');
      expect((await api.action('slowpoke', 'stop')).status).toBe(202);
      await api.waitForStatus('slowpoke', 'STOPPED');
    } finally {
      await lock.release();
    }
    // connect() now completes and hands back a socket. Nothing announces that it was
    // closed again, so give a leaked one ample time to reach the sandbox (it does in ~0.2 s).
    await new Promise((resolve) => setTimeout(resolve, 2000));
    expect(['unknown', 'offline']).toContain(network.sessionState('slowpoke'));
    expect(network.stats().connections).toBe(0);
    expect((await api.session('slowpoke')).status).toBe('STOPPED');
    expect(unhandled).toEqual([]);
  });

  it('restart during connect: the session comes up on the new connection only', async () => {
    const network = t.app.get(SandboxNetwork);
    const lock = await holdAuthState();
    try {
      await api.create('twice');
      await api.waitForStatus('twice', 'STARTING');
      await waitFor(() => lock.waiting(), 'the auth state read to wait for the lock');
      expect((await api.action('twice', 'restart')).status).toBe(202);
      // The restart's own attempt queues behind the same lock.
      await waitFor(async () => (await lock.waiting()) === 2, 'the restart attempt to wait for the lock too');
    } finally {
      await lock.release();
    }
    await api.pair('twice', '5511960000002');
    expect(network.stats().connections).toBe(1);
    expect(unhandled).toEqual([]);
  });
});
