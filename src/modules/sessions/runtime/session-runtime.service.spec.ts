import type { BackgroundFailures } from '../../../infra/metrics/background-failures';
import type { WorkerRegistry } from '../../../infra/queues/worker-registry';
import type { PoolStatsService } from '../pool-stats.service';
import { SessionHooks } from '../session-hooks';
import type { SessionRepository } from '../session.repository';
import type { SessionCommandBus } from './session-command-bus';
import type { SessionLeaseService } from './session-lease.service';
import type { SessionMetrics } from './session-metrics';
import { SessionRuntime } from './session-runtime.service';
import type { SessionStatusPublisher } from './session-status.publisher';
import { Deferred, FakeEngine, TEST_ME } from './testing/fake-engine';
import { FakeAuth, FakePublisher, sessionRow } from './testing/fake-publisher';
import { testConfig } from './testing/test-config';
import { until } from './testing/wait';

/**
 * The runtime as a registry, with a fake engine and stand-ins for Redis and
 * PostgreSQL (the real ones are covered by the e2e tests): the order of the
 * shutdown and the guard against two concurrent adoptions of one session.
 */
function build() {
  const journal: string[] = [];
  const config = testConfig({ MAX_SESSIONS: '2' });
  const engine = new FakeEngine(journal);
  engine.behaviour = { emitCloseOnClose: true };
  const publisher = new FakePublisher(journal);
  const row = sessionRow({ leaseEpoch: 1 });
  let acquireGate: Deferred<boolean> | null = null;
  const leases = {
    acquire: jest.fn(async () => (acquireGate ? acquireGate.promise : true)),
    release: jest.fn(async () => void journal.push('lease-release')),
    forget: jest.fn(),
    isHeld: () => true,
    holder: jest.fn(async () => null),
    startRenewal: jest.fn(),
    stopRenewal: jest.fn(() => void journal.push('stop-renewal')),
  };
  const sessions = {
    findById: jest.fn(async () => ({ ...row, leaseEpoch: 2 })),
    bumpEpoch: jest.fn(async () => ({ ...row, leaseEpoch: 2 })),
    incrementStat: jest.fn(async () => undefined),
  };
  const workersClosed = new Deferred<void>();
  const workers = {
    closeAll: jest.fn(() => {
      journal.push('workers-closing');
      return workersClosed.promise.then(() => void journal.push('workers-closed'));
    }),
  };
  const failures: unknown[] = [];
  const background = { track: (_t: string, p: Promise<unknown>) => void p.catch((e: unknown) => failures.push(e)), record: (_t: string, e: unknown) => void failures.push(e) };
  const runtime = new SessionRuntime(
    config,
    engine,
    new FakeAuth(null, journal),
    sessions as unknown as SessionRepository,
    publisher as unknown as SessionStatusPublisher,
    leases as unknown as SessionLeaseService,
    { publish: jest.fn(async () => undefined) } as unknown as SessionCommandBus,
    { publish: jest.fn(async () => undefined), withdraw: jest.fn(async () => undefined), workersWithRoom: jest.fn(async () => []) } as unknown as PoolStatsService,
    background as unknown as BackgroundFailures,
    workers as unknown as WorkerRegistry,
    new SessionHooks(),
    { bindRuntime: jest.fn(), reconnect: jest.fn(), inboundFailed: jest.fn() } as unknown as SessionMetrics,
  );
  return {
    runtime,
    engine,
    publisher,
    leases,
    row,
    journal,
    failures,
    workersClosed,
    gateAcquire: () => (acquireGate = new Deferred<boolean>()),
    openAcquire: () => acquireGate?.resolve(true),
  };
}

describe('SessionRuntime', () => {
  it('closes the sockets only after the BullMQ workers stopped (no send can use a closed socket)', async () => {
    const h = build();
    expect(await h.runtime.adopt(h.row, 'run')).toBe(true);
    await until(() => h.engine.count === 1 && h.publisher.writes.some((w) => w.update.status === 'STARTING'));
    h.engine.last.open(TEST_ME);
    await until(() => h.publisher.writes.some((w) => w.update.status === 'WORKING'));

    const shutdown = h.runtime.beforeApplicationShutdown();
    await until(() => h.journal.includes('workers-closing'));
    // Workers are still finishing their jobs: the socket stays open, the lease held.
    await new Promise((resolve) => setImmediate(resolve));
    expect(h.engine.last.connection.count('close')).toBe(0);
    expect(h.journal).not.toContain('lease-release');

    h.workersClosed.resolve();
    await shutdown;
    const order = h.journal.filter((e) => ['workers-closed', 'close#1', 'lease-release', 'stop-renewal'].includes(e));
    expect(order).toEqual(['workers-closed', 'close#1', 'lease-release', 'stop-renewal']);
    expect(h.runtime.liveSessions()).toEqual([]);
    expect(h.failures).toEqual([]);
  });

  it('adopts a session once when two adoptions race (the lease wait is not a gap)', async () => {
    const h = build();
    h.gateAcquire();
    const first = h.runtime.adopt(h.row, 'run');
    const second = h.runtime.adopt(h.row, 'run');
    expect(await second).toBe(false);
    h.openAcquire();
    expect(await first).toBe(true);
    await until(() => h.engine.count === 1);
    expect(h.runtime.liveSessions()).toHaveLength(1);
    expect(h.runtime.pool.active).toBe(1);
    expect(h.leases.acquire).toHaveBeenCalledTimes(1);
    h.workersClosed.resolve();
    await h.runtime.beforeApplicationShutdown();
  });
});
