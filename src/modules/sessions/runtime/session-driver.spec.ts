import { Logger } from '@nestjs/common';
import type { BackgroundFailures } from '../../../infra/metrics/background-failures';
import type { InboundSink, SessionRef } from '../ports/inbound-sink.port';
import { SessionHooks } from '../session-hooks';
import type { SessionRepository } from '../session.repository';
import type { SessionRecord } from '../session.types';
import { SessionNotReadyError } from './session-channel';
import { SessionDriver, type DriverDeps } from './session-driver';
import type { SessionMetrics } from './session-metrics';
import type { SessionStatusPublisher } from './session-status.publisher';
import { Deferred, FakeEngine, TEST_ME } from './testing/fake-engine';
import { FakeAuth, FakePublisher, SESSION_ID, sessionRow } from './testing/fake-publisher';
import { testConfig } from './testing/test-config';
import { settle, until } from './testing/wait';

// ------------------------------------------------------------------ builder

const BASE_ENV: Record<string, string> = {
  RECONNECT_BASE_MS: '1000',
  RECONNECT_MAX_MS: '10000',
  CIRCUIT_BREAKER_THRESHOLD: '5',
  CIRCUIT_BREAKER_RESET_MS: '300000',
  QR_MAX_ATTEMPTS: '5',
};

interface HarnessOptions {
  env?: Record<string, string>;
  row?: Partial<SessionRecord>;
  /** Stored credentials (the offline unlink connects only when there are some). */
  creds?: string | null;
}

/** Every harness of the running test, checked and shut down after it. */
const harnesses: Array<{ driver: SessionDriver; failures: Array<{ task: string; error: unknown }> }> = [];

function harness(options: HarnessOptions = {}) {
  /** One ordered log across the fakes: connect#n, close#n, logout#n, wipe, write:STATUS, deleteFenced, released:bool. */
  const journal: string[] = [];
  const config = testConfig({ ...BASE_ENV, ...options.env });
  const engine = new FakeEngine(journal);
  const publisher = new FakePublisher(journal);
  const auth = new FakeAuth(options.creds === undefined ? '{"me":{"id":"5511999998888:1@s.whatsapp.net"}}' : options.creds, journal);
  const sessions = {
    incrementStat: jest.fn(async (_id: string, _stat: string) => undefined),
    deleteFenced: jest.fn(async (_fence: { id: string; epoch: number }) => {
      journal.push('deleteFenced');
      return true;
    }),
  };
  const inbound: string[] = [];
  const sink = {
    received: jest.fn<Promise<void>, Parameters<InboundSink['received']>>(async (_s, m) => void inbound.push(`received:${m.waMessageId}`)),
    ownMessage: jest.fn<Promise<void>, Parameters<InboundSink['ownMessage']>>(async (_s, m) => void inbound.push(`own:${m.waMessageId}`)),
    receipt: jest.fn<Promise<void>, Parameters<InboundSink['receipt']>>(async (_s, r) => void inbound.push(`receipt:${r.waMessageId}:${r.status}`)),
  };
  const hooks = new SessionHooks();
  hooks.setInboundSink(sink);
  const working = jest.fn(async (_session: SessionRef) => undefined);
  hooks.onSessionWorking(working);
  const metrics = { reconnect: jest.fn((_reason: string) => undefined), inboundFailed: jest.fn((_kind: string) => undefined) };
  const failures: Array<{ task: string; error: unknown }> = [];
  const background = {
    track: (task: string, promise: Promise<unknown>) => void promise.catch((error: unknown) => failures.push({ task, error })),
    record: (task: string, error: unknown) => void failures.push({ task, error }),
  };
  let leased = true;
  const released = jest.fn(async (_driver: SessionDriver, handBack: boolean) => void journal.push(`released:${handBack}`));
  const deps: DriverDeps = {
    config,
    engine,
    auth,
    sessions: sessions as unknown as SessionRepository,
    publisher: publisher as unknown as SessionStatusPublisher,
    hooks,
    metrics: metrics as unknown as SessionMetrics,
    background: background as unknown as BackgroundFailures,
    isLeased: () => leased,
    released,
  };
  const row = sessionRow(options.row);
  const driver = new SessionDriver(deps, row);
  const h = {
    driver,
    row,
    config,
    engine,
    publisher,
    auth,
    sessions,
    sink,
    inbound,
    hooks,
    working,
    metrics,
    failures,
    released,
    journal,
    start: () => driver.start(row),
    setLeased: (value: boolean) => void (leased = value),
    /** The journal restricted to `entries`, in order. */
    order: (...entries: string[]) => journal.filter((e) => entries.includes(e)),
  };
  harnesses.push(h);
  return h;
}
type Harness = ReturnType<typeof harness>;

/** start → connect → open → WORKING (and the working listeners told). */
async function startWorking(h: Harness): Promise<void> {
  await h.start();
  await until(() => h.engine.count === 1, 'the first connect');
  h.engine.attempt(1).open();
  await until(() => h.publisher.count('WORKING') === 1 && h.working.mock.calls.length === 1, 'WORKING');
}

function useFakeClock(): void {
  jest.useFakeTimers({ doNotFake: ['setImmediate', 'clearImmediate', 'nextTick', 'queueMicrotask'] });
}

/** Fake clock: moves time to the retry of the last RECONNECTING write. */
async function advanceToRetry(h: Harness): Promise<void> {
  const next = h.publisher.last('RECONNECTING').patch?.nextReconnectAt;
  if (!next) throw new Error('the RECONNECTING write carries no nextReconnectAt');
  await jest.advanceTimersByTimeAsync(Math.max(0, next.getTime() - Date.now()));
}

const released = (h: Harness) => h.released.mock.calls.length > 0;

beforeAll(() => Logger.overrideLogger(false));

afterEach(async () => {
  const all = harnesses.splice(0);
  try {
    // Nothing the driver ran in the background may have failed unnoticed.
    for (const h of all) expect(h.failures).toEqual([]);
  } finally {
    for (const h of all) await h.driver.shutdown();
    jest.useRealTimers();
  }
});

// -------------------------------------------------------------------- tests

describe('SessionDriver', () => {
  describe('starting and pairing', () => {
    it('writes STARTING, then SCAN_QR with the QR, then WORKING with me, a closed circuit and connectedSince; the working listener is told once', async () => {
      const h = harness();
      await h.start();
      expect(h.publisher.statuses()).toEqual(['STARTING']);
      expect(h.publisher.last('STARTING').patch).toMatchObject({ queuedAt: null, nextReconnectAt: null, lastError: null });
      expect(h.engine.count).toBe(1);
      expect(h.engine.attempt(1).options).toMatchObject({ sessionId: SESSION_ID, sessionName: 'alpha', auth: h.auth.store });

      const expiresAt = new Date(Date.now() + 60_000);
      h.engine.attempt(1).qr('ref-1', expiresAt);
      await until(() => h.publisher.count('SCAN_QR') === 1, 'SCAN_QR');
      expect(h.publisher.last('SCAN_QR').patch).toEqual({ qr: 'ref-1', qrExpiresAt: expiresAt });

      h.engine.attempt(1).open();
      await until(() => h.working.mock.calls.length === 1, 'the working listener');
      const working = h.publisher.last('WORKING');
      expect(working.patch).toMatchObject({
        me: TEST_ME,
        qr: null,
        qrExpiresAt: null,
        lastError: null,
        reconnectAttempts: 0,
        nextReconnectAt: null,
        circuitState: 'CLOSED',
        circuitFailures: 0,
      });
      expect(Number.isNaN(Date.parse(working.stats?.connectedSince ?? ''))).toBe(false);
      expect(h.publisher.statuses()).toEqual(['STARTING', 'SCAN_QR', 'WORKING']);
      expect(h.publisher.writes.map((w) => w.previous)).toEqual(['STOPPED', 'STARTING', 'SCAN_QR']);
      expect(h.driver.currentStatus).toBe('WORKING');
      await settle();
      expect(h.working).toHaveBeenCalledTimes(1);
      expect(h.working).toHaveBeenCalledWith({ id: SESSION_ID, name: 'alpha' });
    });

    // Defect: lost status patches (a final status dropped the pending transient fields).
    it('debounces STARTING; the QR written within the debounce carries the STARTING fields (queuedAt, the RESTART stats reset)', async () => {
      useFakeClock();
      const h = harness({
        env: { STATUS_DEBOUNCE_MS: '5000' },
        row: { status: 'QUEUED', queuedAt: new Date(), pendingAction: 'RESTART', actionSeq: 4, reconnectAttempts: 3 },
      });
      await h.start();
      await jest.advanceTimersByTimeAsync(4000);
      expect(h.publisher.calls).toBe(0);
      expect(h.engine.count).toBe(1);

      h.engine.attempt(1).qr('ref-1');
      await until(() => h.publisher.count('SCAN_QR') === 1, 'SCAN_QR');
      expect(h.publisher.writes).toHaveLength(1);
      expect(h.publisher.writes[0]!.previous).toBe('QUEUED');
      expect(h.publisher.last('SCAN_QR')).toMatchObject({
        status: 'SCAN_QR',
        patch: { qr: 'ref-1', queuedAt: null, nextReconnectAt: null, lastError: null, reconnectAttempts: 0 },
        stats: { reset: true },
        clearActionSeq: 4,
      });
      // The debounce timer died with the merge: no late STARTING over SCAN_QR.
      await jest.advanceTimersByTimeAsync(10_000);
      await settle();
      expect(h.publisher.statuses()).toEqual(['SCAN_QR']);
    });

    it('QR_MAX_ATTEMPTS=2: the third QR stops the session (STOPPED, desired STOPPED, lastError about the attempts) and releases it', async () => {
      const h = harness({ env: { QR_MAX_ATTEMPTS: '2' } });
      await h.start();
      const socket = h.engine.attempt(1);
      socket.qr('ref-1');
      socket.qr('ref-2');
      socket.qr('ref-3');
      await until(() => released(h), 'released');
      expect(h.publisher.statuses()).toEqual(['STARTING', 'SCAN_QR', 'SCAN_QR', 'STOPPED']);
      expect(h.publisher.last('STOPPED').patch).toMatchObject({
        desiredState: 'STOPPED',
        qr: null,
        qrExpiresAt: null,
        nextReconnectAt: null,
        lastError: expect.stringContaining('2 attempts'),
      });
      expect(socket.connection.count('close')).toBe(1);
      expect(h.released).toHaveBeenCalledTimes(1);
      expect(h.released).toHaveBeenCalledWith(h.driver, true);
      expect(h.order('write:STOPPED', 'released:true')).toEqual(['write:STOPPED', 'released:true']);
      expect(h.engine.count).toBe(1);
    });
  });

  describe('the serial queue', () => {
    it('handles the events of one socket in order, one at a time: a close waits for the open being written', async () => {
      // Real timers; backoff of 5-10 ms.
      const h = harness({ env: { RECONNECT_BASE_MS: '10', RECONNECT_MAX_MS: '100' } });
      await h.start();
      const workingWrite = h.publisher.hold('WORKING');
      const reconnectingWrite = h.publisher.hold('RECONNECTING');
      const first = h.engine.attempt(1);
      first.open();
      first.close('connection_closed', 'Connection Closed');

      await workingWrite.entered;
      await settle();
      expect(h.publisher.calls).toBe(2); // STARTING, WORKING (held): the close has not started
      expect(h.sessions.incrementStat).not.toHaveBeenCalled();

      workingWrite.release();
      await reconnectingWrite.entered;
      await settle();
      expect(h.publisher.calls).toBe(3);
      expect(h.engine.count).toBe(1); // no reconnect before RECONNECTING is written

      reconnectingWrite.release();
      await until(() => h.engine.count === 2, 'the reconnect');
      h.engine.attempt(2).open();
      await until(() => h.publisher.count('WORKING') === 2, 'WORKING again');

      expect(h.publisher.statuses()).toEqual(['STARTING', 'WORKING', 'RECONNECTING', 'WORKING']);
      // The close saw the phase the open set: a dropped connection, not a failed attempt.
      expect(h.publisher.last('RECONNECTING').patch).toMatchObject({ reconnectAttempts: 1, circuitFailures: 0, lastError: 'Connection Closed' });
      expect(h.publisher.maxInFlight).toBe(1);
      expect(h.driver.currentStatus).toBe('WORKING');
    });

    it('ignores the events of a superseded socket (after reconnectNow): no write, no reconnect', async () => {
      const h = harness();
      await startWorking(h);
      const old = h.engine.attempt(1);
      await h.driver.reconnectNow();
      expect(old.connection.count('close')).toBe(1);
      expect(h.engine.count).toBe(2);
      expect(h.metrics.reconnect).toHaveBeenCalledWith('manual');
      const writes = h.publisher.calls;

      old.open();
      old.close('connection_closed');
      old.qr();
      await settle();
      expect(h.publisher.calls).toBe(writes);
      expect(h.engine.count).toBe(2);
      expect(h.sessions.incrementStat).not.toHaveBeenCalled();
      expect(h.working).toHaveBeenCalledTimes(1);

      h.engine.attempt(2).open();
      await until(() => h.publisher.count('WORKING') === 2, 'the new socket opening');
      expect(h.publisher.statuses()).toEqual(['STARTING', 'WORKING', 'RECONNECTING', 'WORKING']);
    });
  });

  describe('while the auth state loads', () => {
    it('a stop is carried out at once (STOPPED, released) and the socket arriving later is closed', async () => {
      const h = harness();
      h.engine.autoResolve = false;
      await h.start();
      const pending = h.engine.attempt(1);

      await h.driver.converge({ ...h.row, desiredState: 'STOPPED' });
      expect(pending.settled).toBe(false);
      expect(h.publisher.statuses()).toEqual(['STARTING', 'STOPPED']);
      expect(h.publisher.last('STOPPED').patch).toMatchObject({ qr: null, qrExpiresAt: null, nextReconnectAt: null, queuedAt: null });
      expect(h.released).toHaveBeenCalledTimes(1);
      expect(h.released).toHaveBeenCalledWith(h.driver, true);
      expect(h.driver.isEnded).toBe(true);

      pending.resolve();
      await until(() => pending.connection.count('close') === 1, 'the late socket closed');
      pending.qr();
      pending.open();
      await settle();
      expect(h.publisher.statuses()).toEqual(['STARTING', 'STOPPED']);
      expect(h.engine.count).toBe(1);
      expect(h.working).not.toHaveBeenCalled();
    });

    it('a restart starts a second connect; the first socket is closed on arrival; the same RESTART row does not restart again', async () => {
      const h = harness();
      h.engine.autoResolve = false;
      await h.start();
      const first = h.engine.attempt(1);
      const restartRow: SessionRecord = { ...h.row, pendingAction: 'RESTART', actionSeq: 1 };

      await h.driver.converge(restartRow);
      expect(h.engine.count).toBe(2);
      expect(h.publisher.statuses()).toEqual(['STARTING', 'STARTING']);
      expect(h.publisher.writes[1]!.update).toMatchObject({
        status: 'STARTING',
        patch: { lastError: null, reconnectAttempts: 0, nextReconnectAt: null, circuitState: 'CLOSED', circuitFailures: 0 },
        stats: { reset: true },
        clearActionSeq: 1,
      });

      first.resolve();
      await until(() => first.connection.count('close') === 1, 'the superseded socket closed');
      const second = h.engine.attempt(2);
      second.resolve();
      await settle();
      first.qr('stale');
      await settle();
      expect(h.publisher.count('SCAN_QR')).toBe(0);

      second.qr('ref-2');
      await until(() => h.publisher.count('SCAN_QR') === 1, 'SCAN_QR of the second socket');
      expect(h.publisher.last('SCAN_QR').patch).toMatchObject({ qr: 'ref-2' });
      // The second socket is the driver's connection.
      await expect(h.driver.pairingCode('5511999998888')).resolves.toBe('ABCD-EFGH');
      expect(second.connection.count('requestPairingCode')).toBe(1);

      await h.driver.converge(restartRow);
      expect(h.engine.count).toBe(2);
      expect(h.publisher.count('STARTING')).toBe(2);
      expect(second.connection.count('close')).toBe(0);
    });
  });

  describe('reconnects and the circuit', () => {
    it('a close before open is a failed attempt: RECONNECTING with the backoff, counted; the engine is connected again after the backoff', async () => {
      useFakeClock();
      const h = harness({ env: { RECONNECT_BASE_MS: '1000', RECONNECT_MAX_MS: '10000' } });
      await h.start();
      h.engine.attempt(1).close('connection_closed', 'Connection Closed');
      await until(() => h.publisher.count('RECONNECTING') === 1, 'RECONNECTING');

      const patch = h.publisher.last('RECONNECTING').patch!;
      expect(patch).toMatchObject({ reconnectAttempts: 1, circuitFailures: 1, circuitState: 'CLOSED', lastError: 'Connection Closed' });
      const delay = patch.nextReconnectAt!.getTime() - Date.now();
      expect(delay).toBeGreaterThanOrEqual(500);
      expect(delay).toBeLessThanOrEqual(1000);
      expect(h.sessions.incrementStat).toHaveBeenCalledWith(SESSION_ID, 'reconnects');
      expect(h.metrics.reconnect).toHaveBeenCalledWith('connection_closed');

      await jest.advanceTimersByTimeAsync(delay - 1);
      await settle();
      expect(h.engine.count).toBe(1);
      await jest.advanceTimersByTimeAsync(1);
      await until(() => h.engine.count === 2, 'the retry');
    });

    // Defect 8: an open circuit released the slot.
    it('CIRCUIT_BREAKER_THRESHOLD=2: two failed attempts open the circuit (FAILED, trial time set) and release the slot; no further connect', async () => {
      useFakeClock();
      const h = harness({ env: { CIRCUIT_BREAKER_THRESHOLD: '2', CIRCUIT_BREAKER_RESET_MS: '60000' } });
      await h.start();
      h.engine.attempt(1).close('connection_closed');
      await until(() => h.publisher.count('RECONNECTING') === 1, 'RECONNECTING');
      await advanceToRetry(h);
      await until(() => h.engine.count === 2, 'the retry');

      h.engine.attempt(2).close('connection_lost', 'timed out');
      await until(() => released(h), 'released');
      const failed = h.publisher.last('FAILED');
      expect(failed.patch).toMatchObject({ circuitState: 'OPEN', circuitFailures: 2, lastError: expect.stringContaining('2 consecutive') });
      expect(failed.patch!.nextReconnectAt!.getTime()).toBe(Date.now() + 60_000);
      expect(h.released).toHaveBeenCalledWith(h.driver, true);
      expect(h.order('write:FAILED', 'released:true')).toEqual(['write:FAILED', 'released:true']);

      await jest.advanceTimersByTimeAsync(600_000);
      await settle();
      expect(h.engine.count).toBe(2);
      expect(h.driver.isEnded).toBe(true);
    });

    it('an adopted FAILED/OPEN row starts a HALF_OPEN trial (RECONNECTING); one failed attempt opens the circuit again at once', async () => {
      const h = harness({ row: { status: 'FAILED', circuitState: 'OPEN', circuitFailures: 5, nextReconnectAt: new Date(Date.now() - 1000) } });
      await h.start();
      expect(h.publisher.statuses()).toEqual(['RECONNECTING']);
      expect(h.publisher.last('RECONNECTING').patch).toMatchObject({ circuitState: 'HALF_OPEN', queuedAt: null, nextReconnectAt: null });
      expect(h.engine.count).toBe(1);

      h.engine.attempt(1).close('connection_closed');
      await until(() => released(h), 'released');
      expect(h.publisher.statuses()).toEqual(['RECONNECTING', 'FAILED']);
      expect(h.publisher.last('FAILED').patch).toMatchObject({ circuitState: 'OPEN', circuitFailures: 6 });
      expect(h.released).toHaveBeenCalledWith(h.driver, true);
      expect(h.engine.count).toBe(1);
    });

    it('a successful trial closes the circuit', async () => {
      const h = harness({ row: { status: 'FAILED', circuitState: 'OPEN', circuitFailures: 5 } });
      await h.start();
      h.engine.attempt(1).open();
      await until(() => h.publisher.count('WORKING') === 1, 'WORKING');
      expect(h.publisher.last('WORKING').patch).toMatchObject({ circuitState: 'CLOSED', circuitFailures: 0 });
      expect(h.released).not.toHaveBeenCalled();
    });

    // A FAILED/OPEN session whose trial was due while no worker had a free slot
    // is marked QUEUED (writeUnowned keeps circuitState OPEN); adopted from the
    // queue, its start must still be the half-open trial.
    it('an adopted QUEUED row whose circuit is still OPEN also starts as a HALF_OPEN trial', async () => {
      const h = harness({ row: { status: 'QUEUED', queuedAt: new Date(), circuitState: 'OPEN', circuitFailures: 5 } });
      await h.start();
      expect(h.publisher.writes[0]!.update.patch).toMatchObject({ circuitState: 'HALF_OPEN' });
      // While the trial runs, a manual reconnect is allowed (only an OPEN circuit refuses it).
      await expect(h.driver.reconnectNow()).resolves.toBeUndefined();
    });

    it('515 restart_required reconnects at once: no RECONNECTING write, no backoff, not counted by the circuit', async () => {
      const h = harness();
      await h.start();
      h.engine.attempt(1).qr();
      await until(() => h.publisher.count('SCAN_QR') === 1, 'SCAN_QR');
      h.engine.attempt(1).close('restart_required');
      await until(() => h.engine.count === 2, 'the immediate reconnect');
      await settle();
      expect(h.publisher.statuses()).toEqual(['STARTING', 'SCAN_QR']);
      expect(h.sessions.incrementStat).not.toHaveBeenCalled();
      expect(h.metrics.reconnect).toHaveBeenCalledWith('restart_required');

      h.engine.attempt(2).open();
      await until(() => h.publisher.count('WORKING') === 1, 'WORKING');
      expect(h.publisher.last('WORKING').patch).toMatchObject({ circuitFailures: 0, circuitState: 'CLOSED' });
    });

    it('more than 3 restart_required in a row without an open count as a failed attempt', async () => {
      const h = harness();
      await h.start();
      for (let n = 1; n <= 3; n++) {
        h.engine.attempt(n).close('restart_required');
        await until(() => h.engine.count === n + 1, `reconnect ${n}`);
      }
      expect(h.publisher.count('RECONNECTING')).toBe(0);

      h.engine.attempt(4).close('restart_required');
      await until(() => h.publisher.count('RECONNECTING') === 1, 'RECONNECTING');
      expect(h.publisher.last('RECONNECTING').patch).toMatchObject({ reconnectAttempts: 1, circuitFailures: 1, lastError: expect.stringContaining('repeatedly') });
      expect(h.sessions.incrementStat).toHaveBeenCalledTimes(1);
      expect(h.engine.count).toBe(4);
    });

    it('attempt deadline: a socket that sends no qr/open/close within 45 s is closed and the attempt counts as failed', async () => {
      useFakeClock();
      const h = harness();
      await h.start();
      const socket = h.engine.attempt(1);
      await jest.advanceTimersByTimeAsync(44_999);
      await settle();
      expect(socket.connection.count('close')).toBe(0);
      expect(h.publisher.count('RECONNECTING')).toBe(0);

      await jest.advanceTimersByTimeAsync(1);
      await until(() => h.publisher.count('RECONNECTING') === 1, 'RECONNECTING');
      expect(socket.connection.count('close')).toBe(1);
      expect(h.publisher.last('RECONNECTING').patch).toMatchObject({ reconnectAttempts: 1, circuitFailures: 1, lastError: expect.stringContaining('45 s') });
      await advanceToRetry(h);
      await until(() => h.engine.count === 2, 'the retry');
    });

    it('attempt deadline: also when engine.connect never resolves; the socket that arrives late is closed', async () => {
      useFakeClock();
      const h = harness();
      h.engine.autoResolve = false;
      await h.start();
      await jest.advanceTimersByTimeAsync(45_000);
      await until(() => h.publisher.count('RECONNECTING') === 1, 'RECONNECTING');
      expect(h.publisher.last('RECONNECTING').patch).toMatchObject({ circuitFailures: 1, lastError: expect.stringContaining('45 s') });

      await advanceToRetry(h);
      await until(() => h.engine.count === 2, 'the retry');
      const late = h.engine.attempt(1);
      late.resolve();
      await until(() => late.connection.count('close') === 1, 'the late socket closed');
      const current = h.engine.attempt(2);
      current.resolve();
      current.open();
      await until(() => h.publisher.count('WORKING') === 1, 'WORKING');
      expect(current.connection.count('close')).toBe(0);
    });
  });

  describe('terminal closes', () => {
    it('401 logged_out: wipes the auth state, writes LOGGED_OUT (desired STOPPED, me null), then releases', async () => {
      const h = harness();
      await startWorking(h);
      h.engine.attempt(1).close('logged_out');
      await until(() => released(h), 'released');
      expect(h.auth.wipes).toBe(1);
      expect(h.publisher.last('LOGGED_OUT').patch).toMatchObject({
        desiredState: 'STOPPED',
        me: null,
        qr: null,
        nextReconnectAt: null,
        lastError: expect.stringContaining('401'),
      });
      expect(h.released).toHaveBeenCalledWith(h.driver, true);
      expect(h.order('wipe', 'write:LOGGED_OUT', 'released:true')).toEqual(['wipe', 'write:LOGGED_OUT', 'released:true']);
      expect(h.engine.count).toBe(1);
    });

    it('440 conflict: CONFLICT (desired STOPPED), credentials kept, released after the write', async () => {
      const h = harness();
      await startWorking(h);
      h.engine.attempt(1).close('conflict');
      await until(() => released(h), 'released');
      expect(h.auth.wipes).toBe(0);
      const conflict = h.publisher.last('CONFLICT');
      expect(conflict.patch).toMatchObject({ desiredState: 'STOPPED', lastError: expect.stringContaining('440') });
      expect(conflict.patch).not.toHaveProperty('me');
      expect(h.released).toHaveBeenCalledWith(h.driver, true);
      expect(h.order('write:CONFLICT', 'released:true')).toEqual(['write:CONFLICT', 'released:true']);
      expect(h.engine.count).toBe(1);
    });
  });

  describe('ownership', () => {
    it('fenced out (the write changed nothing): closes the socket, forgets the lease, and ignores everything afterwards', async () => {
      const h = harness();
      await h.start();
      const socket = h.engine.attempt(1);
      h.publisher.moveEpoch();
      socket.qr();
      await until(() => released(h), 'released');
      expect(h.released).toHaveBeenCalledTimes(1);
      expect(h.released).toHaveBeenCalledWith(h.driver, false);
      expect(socket.connection.count('close')).toBe(1);
      expect(h.publisher.count('SCAN_QR')).toBe(0);
      expect(h.driver.isEnded).toBe(true);

      const calls = h.publisher.calls;
      socket.open();
      socket.close('connection_closed');
      await h.driver.converge(h.row);
      await h.driver.reconnectNow();
      await h.driver.checkHealth(1000, 1000);
      await settle();
      expect(h.publisher.calls).toBe(calls);
      expect(h.engine.count).toBe(1);
      expect(h.working).not.toHaveBeenCalled();
      expect(h.sessions.incrementStat).not.toHaveBeenCalled();
      expect(h.driver.channel()).toBeNull();
      expect(h.released).toHaveBeenCalledTimes(1);
    });

    it('a row with another lease epoch: abandons (socket closed, lease forgotten), writes nothing', async () => {
      const h = harness();
      await startWorking(h);
      const calls = h.publisher.calls;
      await h.driver.converge({ ...h.row, leaseEpoch: 2, desiredState: 'STOPPED' });
      expect(h.engine.attempt(1).connection.count('close')).toBe(1);
      expect(h.released).toHaveBeenCalledWith(h.driver, false);
      expect(h.publisher.calls).toBe(calls);
      expect(h.driver.isEnded).toBe(true);
    });

    it('converge(null) (row deleted): socket closed, released, nothing written', async () => {
      const h = harness();
      await startWorking(h);
      const calls = h.publisher.calls;
      await h.driver.converge(null);
      expect(h.engine.attempt(1).connection.count('close')).toBe(1);
      expect(h.released).toHaveBeenCalledTimes(1);
      expect(h.released).toHaveBeenCalledWith(h.driver, true);
      expect(h.publisher.calls).toBe(calls);
    });
  });

  describe('logout and delete', () => {
    it('LOGOUT while WORKING: logs out through the socket, wipes, writes LOGGED_OUT clearing the action, releases', async () => {
      const h = harness();
      await startWorking(h);
      const socket = h.engine.attempt(1);
      await h.driver.converge({ ...h.row, desiredState: 'STOPPED', pendingAction: 'LOGOUT', actionSeq: 1 });
      expect(socket.connection.count('logout')).toBe(1);
      expect(h.auth.wipes).toBe(1);
      const loggedOut = h.publisher.last('LOGGED_OUT');
      expect(loggedOut.clearActionSeq).toBe(1);
      expect(loggedOut.patch).toMatchObject({ me: null, qr: null, lastError: null });
      expect(h.order('logout#1', 'wipe', 'write:LOGGED_OUT', 'released:true')).toEqual(['logout#1', 'wipe', 'write:LOGGED_OUT', 'released:true']);
      expect(h.released).toHaveBeenCalledWith(h.driver, true);
      expect(h.engine.count).toBe(1); // no offline-unlink socket
    });

    it('LOGOUT with desired RUNNING ("logout, then start"): after LOGGED_OUT a fresh pairing starts', async () => {
      const h = harness();
      await startWorking(h);
      await h.driver.converge({ ...h.row, desiredState: 'RUNNING', pendingAction: 'LOGOUT', actionSeq: 1 });
      expect(h.engine.attempt(1).connection.count('logout')).toBe(1);
      expect(h.auth.wipes).toBe(1);
      expect(h.publisher.statuses()).toEqual(['STARTING', 'WORKING', 'LOGGED_OUT', 'STARTING']);
      expect(h.publisher.last('LOGGED_OUT').clearActionSeq).toBe(1);
      expect(h.publisher.last('STARTING').stats).toEqual({ reset: true });
      expect(h.engine.count).toBe(2);
      expect(h.released).not.toHaveBeenCalled();

      h.engine.attempt(2).qr('fresh');
      await until(() => h.publisher.count('SCAN_QR') === 1, 'a new QR');
    });

    // A converge with a row read before the LOGGED_OUT write (a second kick, a
    // reconciler pass that read the row meanwhile) still carries the handled
    // LOGOUT: it must not log out and wipe the fresh pairing again.
    it('LOGOUT with desired RUNNING is carried out once: the same row again does not log out again', async () => {
      const h = harness();
      await startWorking(h);
      const logoutRow: SessionRecord = { ...h.row, desiredState: 'RUNNING', pendingAction: 'LOGOUT', actionSeq: 1 };
      await h.driver.converge(logoutRow);
      expect(h.engine.count).toBe(2);

      await h.driver.converge(logoutRow);
      expect(h.auth.wipes).toBe(1);
      expect(h.publisher.count('LOGGED_OUT')).toBe(1);
      expect(h.engine.attempt(2).connection.count('close')).toBe(0);
      expect(h.engine.count).toBe(2);
    });

    it('LOGOUT while not connected, creds stored: unlinks through a temporary socket (logout on its open), then wipes and writes LOGGED_OUT', async () => {
      const h = harness({ row: { status: 'STOPPED', desiredState: 'STOPPED', pendingAction: 'LOGOUT', actionSeq: 3 } });
      h.engine.onConnect = (attempt) => setImmediate(() => attempt.open());
      await h.start();
      expect(h.engine.count).toBe(1);
      expect(h.engine.attempt(1).options.auth).toBe(h.auth.store);
      expect(h.engine.attempt(1).connection.calls).toEqual(['logout', 'close']);
      expect(h.order('connect#1', 'logout#1', 'close#1', 'wipe', 'write:LOGGED_OUT', 'released:true')).toEqual([
        'connect#1',
        'logout#1',
        'close#1',
        'wipe',
        'write:LOGGED_OUT',
        'released:true',
      ]);
      expect(h.publisher.statuses()).toEqual(['LOGGED_OUT']);
      expect(h.publisher.last('LOGGED_OUT')).toMatchObject({ clearActionSeq: 3, patch: { lastError: null, me: null } });
    });

    it('LOGOUT while not connected, no creds stored: no connect at all; wipe and LOGGED_OUT', async () => {
      const h = harness({ creds: null, row: { status: 'STOPPED', desiredState: 'STOPPED', pendingAction: 'LOGOUT', actionSeq: 3 } });
      await h.start();
      expect(h.engine.count).toBe(0);
      expect(h.auth.wipes).toBe(1);
      expect(h.publisher.statuses()).toEqual(['LOGGED_OUT']);
      expect(h.released).toHaveBeenCalledWith(h.driver, true);
    });

    // "Never wait forever": the driver bounds its own connect while the auth
    // state loads; the offline unlink's connect must be bounded too, or a
    // stuck auth-state read blocks this session's queue (and every converge
    // awaiting it) for good.
    it('LOGOUT while not connected: an offline unlink whose engine.connect never resolves still ends (wipe, LOGGED_OUT with the unlink error)', async () => {
      useFakeClock();
      const h = harness({ row: { status: 'STOPPED', desiredState: 'STOPPED', pendingAction: 'LOGOUT', actionSeq: 3 } });
      h.engine.autoResolve = false;
      const started = h.start();
      await until(() => h.engine.count === 1, 'the unlink connect');
      // 3 unlink attempts of at most 45 s each, up to 10 s of backoff between them.
      for (let second = 0; second < 300 && !released(h); second++) await jest.advanceTimersByTimeAsync(1000);
      await started;
      expect(h.released.mock.calls.map(([, handBack]) => handBack)).toEqual([true]);
      expect(h.auth.wipes).toBe(1);
      expect(h.publisher.last('LOGGED_OUT').patch?.lastError).toEqual(expect.stringContaining('could not be unlinked'));
    });

    it('DELETE: unlinks (temporary socket), wipes, then deletes the row (fenced); no LOGGED_OUT; released', async () => {
      const h = harness({ row: { status: 'STOPPED', desiredState: 'STOPPED', pendingAction: 'DELETE', actionSeq: 2, deletedAt: new Date() } });
      h.engine.onConnect = (attempt) => setImmediate(() => attempt.open());
      await h.start();
      expect(h.order('logout#1', 'close#1', 'wipe', 'deleteFenced', 'released:true')).toEqual(['logout#1', 'close#1', 'wipe', 'deleteFenced', 'released:true']);
      expect(h.sessions.deleteFenced).toHaveBeenCalledWith({ id: SESSION_ID, epoch: 1 });
      expect(h.publisher.calls).toBe(0);
      expect(h.released).toHaveBeenCalledWith(h.driver, true);
    });

    it('DELETE while WORKING: logs out through the open socket, wipes, deletes the row; nothing written', async () => {
      const h = harness();
      await startWorking(h);
      const calls = h.publisher.calls;
      await h.driver.converge({ ...h.row, desiredState: 'STOPPED', pendingAction: 'DELETE', actionSeq: 1, deletedAt: new Date() });
      expect(h.order('logout#1', 'wipe', 'deleteFenced', 'released:true')).toEqual(['logout#1', 'wipe', 'deleteFenced', 'released:true']);
      expect(h.engine.count).toBe(1);
      expect(h.publisher.calls).toBe(calls);
    });
  });

  describe('health checks (never silent)', () => {
    it('a driver left idle (its start could not write STARTING) is connected by the health check', async () => {
      const h = harness();
      h.publisher.failNext(new Error('database unavailable'), 'STARTING');
      await expect(h.start()).rejects.toThrow('database unavailable');
      expect(h.engine.count).toBe(0);

      await h.driver.checkHealth(30_000, 5_000);
      expect(h.engine.count).toBe(1);
      await h.driver.checkHealth(30_000, 5_000); // an attempt is in flight now: nothing more
      expect(h.engine.count).toBe(1);

      h.engine.attempt(1).open();
      await until(() => h.publisher.count('WORKING') === 1, 'WORKING');
    });

    it('an idle WORKING socket is pinged; one that does not answer goes through the reconnect path', async () => {
      useFakeClock();
      const h = harness();
      await startWorking(h);
      const socket = h.engine.attempt(1).connection;

      socket.lastActivity = Date.now() - 10_000; // active recently: no ping
      await h.driver.checkHealth(30_000, 5_000);
      expect(socket.count('ping')).toBe(0);

      socket.lastActivity = Date.now() - 60_000; // answers: nothing happens
      await h.driver.checkHealth(30_000, 5_000);
      expect(socket.count('ping')).toBe(1);
      expect(socket.count('close')).toBe(0);

      socket.behaviour.ping = async () => {
        throw new Error('ping timed out');
      };
      await h.driver.checkHealth(30_000, 5_000);
      expect(socket.count('ping')).toBe(2);
      expect(socket.count('close')).toBe(1);
      expect(h.publisher.last('RECONNECTING').patch).toMatchObject({
        reconnectAttempts: 1,
        circuitFailures: 0,
        lastError: 'socket did not answer the health check',
      });
      expect(h.metrics.reconnect).toHaveBeenCalledWith('connection_lost');
      expect(h.driver.channel()).toBeNull();

      await advanceToRetry(h);
      await until(() => h.engine.count === 2, 'the reconnect');
    });
  });

  describe('inbound', () => {
    it('hands messages over in order: what arrives during a hand-over goes over together next, received (fromMe false) or ownMessage (fromMe true)', async () => {
      const h = harness();
      await startWorking(h);
      const first = new Deferred<void>();
      const second = new Deferred<void>();
      h.sink.received.mockImplementationOnce(async (_s, m) => {
        await first.promise;
        h.inbound.push(`received:${m.waMessageId}`);
      });
      h.sink.ownMessage.mockImplementationOnce(async (_s, m) => {
        await second.promise;
        h.inbound.push(`own:${m.waMessageId}`);
      });
      const socket = h.engine.attempt(1);
      socket.message({ waMessageId: 'A', fromMe: false });
      await until(() => h.sink.received.mock.calls.length === 1, 'A handed over');
      socket.message({ waMessageId: 'B', fromMe: true });
      socket.message({ waMessageId: 'C', fromMe: false });
      socket.message({ waMessageId: 'D', fromMe: false });
      await settle();
      expect(h.sink.ownMessage).not.toHaveBeenCalled(); // B, C, D wait until A is recorded
      first.resolve();
      // Then B, C and D go over together: C and D are handed over while B is not recorded yet.
      await until(() => h.sink.received.mock.calls.length === 3 && h.sink.ownMessage.mock.calls.length === 1, 'B, C and D handed over together');
      expect(h.inbound).toEqual(['received:A', 'received:C', 'received:D']);
      second.resolve();
      await until(() => h.inbound.length === 4, 'all four recorded');
      const order = (fn: jest.Mock, i: number) => fn.mock.invocationCallOrder[i]!;
      expect([order(h.sink.received, 0), order(h.sink.ownMessage, 0), order(h.sink.received, 1), order(h.sink.received, 2)]).toEqual(
        [order(h.sink.received, 0), order(h.sink.ownMessage, 0), order(h.sink.received, 1), order(h.sink.received, 2)].sort((a, b) => a - b),
      );
      expect(h.sink.received.mock.calls.map(([, m]) => m.waMessageId)).toEqual(['A', 'C', 'D']);
      expect(h.sink.received.mock.calls[0]![0]).toEqual({ id: SESSION_ID, name: 'alpha' });
      expect(h.sink.ownMessage.mock.calls[0]![1]).toMatchObject({ waMessageId: 'B', fromMe: true });
    });

    it('hands a reaction over alone, after the messages before it are recorded, and receipts after the messages before them', async () => {
      const h = harness();
      await startWorking(h);
      const gate = new Deferred<void>();
      const gateB = new Deferred<void>();
      h.sink.received
        .mockImplementationOnce(async (_s, m) => {
          await gate.promise;
          h.inbound.push(`received:${m.waMessageId}`);
        })
        .mockImplementationOnce(async (_s, m) => {
          await gateB.promise;
          h.inbound.push(`received:${m.waMessageId}`);
        });
      const socket = h.engine.attempt(1);
      socket.message({ waMessageId: 'A' });
      await until(() => h.sink.received.mock.calls.length === 1, 'A handed over');
      socket.message({ waMessageId: 'B' });
      socket.message({ waMessageId: 'R', type: 'reaction', reactionTo: 'B' });
      socket.message({ waMessageId: 'C' });
      socket.receipt('OUT-1', 'READ');
      gate.resolve();
      await until(() => h.sink.received.mock.calls.length === 2, 'B handed over');
      await settle();
      expect(h.sink.received).toHaveBeenCalledTimes(2); // the reaction waits until B is recorded
      gateB.resolve();
      await until(() => h.inbound.length === 5, 'everything recorded');
      // B, then the reaction alone (once B is recorded), then C, then the receipt.
      expect(h.inbound).toEqual(['received:A', 'received:B', 'received:R', 'received:C', 'receipt:OUT-1:READ']);
    });

    it('drops a re-delivered message id once it was recorded', async () => {
      const h = harness();
      await startWorking(h);
      const socket = h.engine.attempt(1);
      socket.message({ waMessageId: 'A' });
      socket.message({ waMessageId: 'A' });
      socket.message({ waMessageId: 'B' });
      await until(() => h.inbound.length === 2, 'A and B recorded');
      await settle();
      expect(h.inbound).toEqual(['received:A', 'received:B']);
    });

    it('a message the sink failed 3 times is counted and NOT marked seen: its re-delivery reaches the sink again', async () => {
      const h = harness();
      await startWorking(h);
      const down = new Error('database unavailable');
      h.sink.received.mockRejectedValueOnce(down).mockRejectedValueOnce(down).mockRejectedValueOnce(down);
      const socket = h.engine.attempt(1);
      socket.message({ waMessageId: 'X' });
      await until(() => h.metrics.inboundFailed.mock.calls.length === 1, 'the hand-over given up', 5000);
      expect(h.sink.received).toHaveBeenCalledTimes(3);
      expect(h.metrics.inboundFailed).toHaveBeenCalledWith('message');

      socket.message({ waMessageId: 'X' });
      await until(() => h.inbound.length === 1, 'the re-delivery recorded');
      expect(h.sink.received).toHaveBeenCalledTimes(4);
      socket.message({ waMessageId: 'X' }); // recorded now: a duplicate
      await settle();
      expect(h.sink.received).toHaveBeenCalledTimes(4);
    });

    it('hands receipts to sink.receipt', async () => {
      const h = harness();
      await startWorking(h);
      h.engine.attempt(1).receipt('OUT-1', 'READ', '5511888887777@s.whatsapp.net');
      await until(() => h.sink.receipt.mock.calls.length === 1, 'the receipt');
      expect(h.sink.receipt).toHaveBeenCalledWith(
        { id: SESSION_ID, name: 'alpha' },
        expect.objectContaining({ waMessageId: 'OUT-1', chatId: '5511888887777@s.whatsapp.net', status: 'READ' }),
      );
    });
  });

  describe('channel', () => {
    it('is null before WORKING, usable while WORKING and leased, null (and refusing) once the lease is not held', async () => {
      const h = harness();
      await h.start();
      expect(h.driver.channel()).toBeNull();
      h.engine.attempt(1).qr();
      await until(() => h.publisher.count('SCAN_QR') === 1, 'SCAN_QR');
      expect(h.driver.channel()).toBeNull();

      h.engine.attempt(1).open();
      await until(() => h.publisher.count('WORKING') === 1, 'WORKING');
      const channel = h.driver.channel();
      expect(channel).not.toBeNull();
      await expect(channel!.send('5511888887777@s.whatsapp.net', { type: 'text', text: 'hi' })).resolves.toEqual({ waMessageId: 'OUT-1' });
      expect(h.engine.attempt(1).connection.sent).toHaveLength(1);

      h.setLeased(false);
      expect(h.driver.channel()).toBeNull();
      expect(channel!.isUsable).toBe(false);
      await expect(channel!.send('5511888887777@s.whatsapp.net', { type: 'text', text: 'again' })).rejects.toBeInstanceOf(SessionNotReadyError);
      expect(h.engine.attempt(1).connection.sent).toHaveLength(1);
    });

    it('a channel taken before a reconnect refuses to send afterwards (SessionNotReadyError), even once WORKING again', async () => {
      const h = harness();
      await startWorking(h);
      const channel = h.driver.channel()!;
      await h.driver.reconnectNow();
      h.engine.attempt(2).open();
      await until(() => h.publisher.count('WORKING') === 2, 'WORKING again');

      await expect(channel.send('5511888887777@s.whatsapp.net', { type: 'text', text: 'hi' })).rejects.toBeInstanceOf(SessionNotReadyError);
      expect(h.engine.attempt(1).connection.count('send')).toBe(0);
      expect(h.engine.attempt(2).connection.count('send')).toBe(0);
      const fresh = h.driver.channel();
      expect(fresh).not.toBeNull();
      await fresh!.send('5511888887777@s.whatsapp.net', { type: 'text', text: 'hi' });
      expect(h.engine.attempt(2).connection.count('send')).toBe(1);
    });
  });
});
