import { SandboxNetwork } from '../../src/modules/sandbox/network/sandbox-network';
import { SessionLeaseService } from '../../src/modules/sessions/runtime/session-lease.service';
import { SessionReconciler } from '../../src/modules/sessions/runtime/session-reconciler';
import { SessionRuntime } from '../../src/modules/sessions/runtime/session-runtime.service';
import { query } from '../helpers/db-query';
import { recordSessionEvents } from '../helpers/session-events';
import { sessionsApi } from '../helpers/sessions-api';
import { startTestApp, type TestApp } from '../helpers/test-app';
import { createTestEnv, waitFor, type TestEnv } from '../helpers/test-env';

/**
 * Two workers in one process, one PostgreSQL, one Redis, one sandbox. Worker A
 * owns a session and then stalls (its lease renewal stops, as in a long GC
 * pause or a frozen VM): its lease expires and worker B takes the session.
 * When B's socket logs in, WhatsApp replaces A's socket (440). A, still
 * believing it owns the session, reacts to that 440 — but its writes carry
 * the old lease epoch and change nothing: the session stays WORKING on B, and
 * A closes its socket without a trace.
 */
describe('fencing a stale owner', () => {
  let env: TestEnv;
  let a: TestApp;
  let b: TestApp;

  const common = { STATUS_DEBOUNCE_MS: '0', SESSION_LEASE_TTL_MS: '2000', SESSION_RECONCILE_INTERVAL_MS: '300' };

  beforeAll(async () => {
    env = await createTestEnv({ SANDBOX: 'true', ...common });
    a = await startTestApp({ SANDBOX: 'true', INSTANCE_ID: 'worker-a', ...common }, env);
    const network = a.app.get(SandboxNetwork);
    // B reaches A's in-process sandbox like any external one.
    b = await startTestApp(
      { SANDBOX: 'true', SANDBOX_URL: network.wsUrl, SANDBOX_ROOT_KEY: network.rootPublicKey.toString('base64'), INSTANCE_ID: 'worker-b', ...common },
      env,
    );
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
    await env?.cleanup();
  });

  it('the stalled worker cannot write CONFLICT + STOPPED over the new owner', async () => {
    const apiA = sessionsApi(a);
    const network = a.app.get(SandboxNetwork);
    const runtimeA = a.app.get(SessionRuntime);
    const runtimeB = b.app.get(SessionRuntime);
    await apiA.create('fenced');
    await apiA.pair('fenced', '5511990000001');
    const owner = runtimeA.isLive((await query<{ id: string }>(env.databaseUrl, `SELECT id FROM "Session" WHERE name = 'fenced'`))[0]!.id) ? 'a' : 'b';
    const [stale, fresh] = owner === 'a' ? [a, b] : [b, a];
    const [staleRuntime, freshRuntime] = owner === 'a' ? [runtimeA, runtimeB] : [runtimeB, runtimeA];
    const [{ leaseEpoch: epochBefore }] = await query<{ leaseEpoch: number }>(env.databaseUrl, `SELECT "leaseEpoch" FROM "Session" WHERE name = 'fenced'`);
    const staleEvents = recordSessionEvents(stale);

    // The owner stalls: it stops renewing and reconciling, without knowing it. Only the 440
    // that the new owner's login causes reaches it: its reaction is what must change nothing.
    stale.app.get(SessionLeaseService).stopRenewal();
    stale.app.get(SessionReconciler).onApplicationShutdown();

    // The other worker takes over once the lease expires; its login replaces the stale socket (440).
    await waitFor(() => freshRuntime.liveSessions().some((d) => d.name === 'fenced'), 'the other worker to take the session', 20_000);
    await waitFor(() => !staleRuntime.liveSessions().some((d) => d.name === 'fenced'), 'the stale owner to let go', 20_000);
    const session = await sessionsApi(fresh).waitForStatus('fenced', 'WORKING');
    expect(session.lastError).toBeNull();
    const [row] = await query<{ leaseEpoch: number; desiredState: string; status: string }>(
      env.databaseUrl,
      `SELECT "leaseEpoch", "desiredState", status FROM "Session" WHERE name = 'fenced'`,
    );
    expect(row).toEqual({ leaseEpoch: epochBefore + 1, desiredState: 'RUNNING', status: 'WORKING' });
    expect(network.sessionConnections('fenced')).toBe(1);
    // Nothing the stale owner did after losing the session reached the row or the event bus.
    expect(staleEvents.statusesOf('fenced').map((e) => e.status)).toEqual([]);
    staleEvents.stop();
  });
});
