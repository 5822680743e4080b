import { SandboxNetwork } from '../../../src/modules/sandbox/network/sandbox-network';
import { SessionLeaseService } from '../../../src/modules/sessions/runtime/session-lease.service';
import { SessionRuntime } from '../../../src/modules/sessions/runtime/session-runtime.service';
import { sessionsApi } from '../../helpers/sessions-api';
import { startTestApp, type TestApp } from '../../helpers/test-app';
import { recordSessionEvents } from '../../helpers/session-events';
import { waitFor } from '../../helpers/test-env';

/** Resources Node reports as active (timers, sockets, ...), counted by type. */
function activeResources(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const type of process.getActiveResourcesInfo()) counts[type] = (counts[type] ?? 0) + 1;
  return counts;
}

const CYCLES = 100;

describe('start/stop one session many times', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ SANDBOX: 'true', STATUS_DEBOUNCE_MS: '0', SANDBOX_READ_RECEIPT_MS: '0' });
  });
  afterAll(async () => {
    await t?.close();
  });

  it(`leaves no timers, listeners, sockets or cache entries behind after ${CYCLES} cycles`, async () => {
    const api = sessionsApi(t);
    const runtime = t.app.get(SessionRuntime);
    const leases = t.app.get(SessionLeaseService);
    const network = t.app.get(SandboxNetwork);
    await api.create('loop');
    await api.pair('loop', '5511920000001');
    await api.action('loop', 'stop');
    await api.waitForStatus('loop', 'STOPPED');

    // Warm-up cycle so lazily created pools and connections exist in the baseline.
    await api.action('loop', 'start');
    await api.waitForStatus('loop', 'WORKING');
    await api.action('loop', 'stop');
    await api.waitForStatus('loop', 'STOPPED');
    await waitFor(() => runtime.liveSessions().length === 0, 'runtime to drop the session');
    const baseline = activeResources();
    const events = recordSessionEvents(t);
    let cachesWhileLive: Record<string, number> = {};

    for (let i = 0; i < CYCLES; i++) {
      expect((await api.action('loop', 'start')).status).toBe(202);
      await api.waitForStatus('loop', 'WORKING');
      if (i === CYCLES - 1) cachesWhileLive = runtime.cacheSizes();
      expect((await api.action('loop', 'stop')).status).toBe(202);
      await api.waitForStatus('loop', 'STOPPED');
    }

    await waitFor(() => runtime.liveSessions().length === 0, 'runtime to drop the session');
    // The caches exist while the session runs (the check below is not vacuous) and go with it.
    expect(Object.keys(cachesWhileLive).length).toBeGreaterThan(0);
    expect(runtime.cacheSizes()).toEqual({});
    expect(runtime.pool.active).toBe(0);
    expect(leases.heldCount).toBe(0);
    await waitFor(() => network.sessionConnections('loop') === 0, 'the sandbox to see no socket of the session');
    // Every cycle announced exactly its own transitions, once each (no duplicates, none lost).
    const statuses = events.statusesOf('loop').map((e) => e.status);
    events.stop();
    expect(statuses).toEqual(Array.from({ length: CYCLES }, () => ['STARTING', 'WORKING', 'STOPPED']).flat());
    // Sockets and timers settle back to the baseline (a few in-flight HTTP keep-alives may linger briefly).
    const settled = await waitFor(() => {
      const now = activeResources();
      const grown = Object.keys(now).filter((type) => (now[type] ?? 0) > (baseline[type] ?? 0) + 3);
      return grown.length === 0 ? now : null;
    }, `active resources back to baseline ${JSON.stringify(baseline)}`, 20000, 200);
    expect(settled.Timeout ?? 0).toBeLessThanOrEqual((baseline.Timeout ?? 0) + 3);
    expect(settled.TCPSocketWrap ?? 0).toBeLessThanOrEqual((baseline.TCPSocketWrap ?? 0) + 3);
  }, 240_000);
});
