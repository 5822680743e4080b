import { Logger } from '@nestjs/common';
import type { AppConfig } from '../../../config';
import { ConflictError } from '../../../common/errors/domain-errors';
import type { BackgroundFailures } from '../../../infra/metrics/background-failures';
import type { EngineConnection, EngineDisconnect, EngineEvent, EngineMe, WhatsAppEngine } from '../engine/whatsapp-engine.port';
import type { SessionHooks } from '../session-hooks';
import type { SessionRepository } from '../session.repository';
import type { SessionRecord, SessionStatus } from '../session.types';
import type { AuthStateStores } from './auth-state-stores';
import { DriverTimers } from './driver-timers';
import { InboundRelay } from './inbound-relay';
import { unlinkWithRetries } from './offline-unlink';
import { ReconnectCircuit } from './reconnect-circuit';
import { backoffDelay, decideReconnect } from './reconnect-policy';
import { SerialQueue } from './serial-queue';
import { SessionChannel } from './session-channel';
import { SessionContext } from './session-context';
import type { SessionMetrics } from './session-metrics';
import type { SessionStatusPublisher } from './session-status.publisher';
import { StatusWriter, type StatusUpdate } from './status-writer';

/** No QR, open or close this long after a socket was created: the attempt is dead (never wait forever). */
const ATTEMPT_DEADLINE_MS = 45_000;
/** 515 (restart required) follows pairing once; more in a row without an open is a loop, counted as a failure. */
const MAX_RESTARTS_WITHOUT_OPEN = 3;
/** Tries to unlink a device at WhatsApp before the credentials are wiped anyway. */
const UNLINK_ATTEMPTS = 3;

/** What the driver needs from the rest of the runtime. */
export interface DriverDeps {
  config: AppConfig;
  engine: WhatsAppEngine;
  auth: AuthStateStores;
  sessions: SessionRepository;
  publisher: SessionStatusPublisher;
  hooks: SessionHooks;
  metrics: SessionMetrics;
  background: BackgroundFailures;
  /** True while this worker still holds the session's Redis lease. */
  isLeased(sessionId: string): boolean;
  /** The driver is done here: free its slot; hand the lease back (true) or just forget it (false). */
  released(driver: SessionDriver, handBack: boolean): Promise<void>;
}

/** Another worker owns the session now (the fenced write changed nothing). */
class FencedOutError extends Error {}

type Phase = 'idle' | 'connecting' | 'pairing' | 'open' | 'waiting';

/**
 * One live session on its owner worker. Everything that happens to the session
 * (the row's wanted state, API nudges, engine events, timers, health checks)
 * runs on one serial queue, one operation at a time, so no two of them
 * interleave across awaits. Every write is fenced by the lease epoch this
 * worker got when it took the session: when another worker has taken over,
 * the write changes nothing and the driver closes its socket without a trace.
 *
 * Inbound messages and receipts have their own ordered queue, so recording
 * them never waits behind (or delays) a reconnect.
 */
export class SessionDriver {
  readonly id: string;
  readonly name: string;
  private readonly log = new Logger('SessionDriver');
  private readonly ops = new SerialQueue();
  private readonly writer: StatusWriter;
  private readonly context: SessionContext;
  private readonly inbound: InboundRelay;
  private readonly epoch: number;
  private circuit: ReconnectCircuit;
  private persisted: SessionStatus;
  private status: SessionStatus;
  private phase: Phase = 'idle';
  private connection: EngineConnection | null = null;
  /** Bumped per socket: events and timers of an older socket are ignored. */
  private generation = 0;
  private reconnectAttempts: number;
  private qrCount = 0;
  private restartsWithoutOpen = 0;
  private handledActionSeq: number;
  /** The LOGOUT this driver carried out: a row read before its completion was written must not log out again. */
  private handledLogoutSeq: number | null = null;
  private readonly timers = new DriverTimers();
  private ended = false;

  constructor(
    private readonly deps: DriverDeps,
    row: SessionRecord,
  ) {
    this.id = row.id;
    this.name = row.name;
    this.epoch = row.leaseEpoch;
    this.persisted = row.status;
    this.status = row.status;
    this.reconnectAttempts = row.reconnectAttempts;
    this.handledActionSeq = row.actionSeq;
    this.circuit = new ReconnectCircuit(deps.config.CIRCUIT_BREAKER_THRESHOLD, { state: row.circuitState, failures: row.circuitFailures });
    this.context = new SessionContext(row.name);
    this.inbound = new InboundRelay({ id: row.id, name: row.name }, this.context, deps.hooks, deps.metrics);
    this.writer = new StatusWriter(
      deps.config.STATUS_DEBOUNCE_MS,
      (update) => this.persist(update),
      (flush) => this.enqueue('debounced status write', flush),
    );
  }

  // ------------------------------------------------------------ public API

  /** Takes the session on this worker (just adopted: lease and epoch held) and moves it towards `row`. */
  start(row: SessionRecord): Promise<void> {
    return this.op(async () => {
      if (row.pendingAction === 'LOGOUT' || row.pendingAction === 'DELETE' || row.desiredState === 'STOPPED') return this.applyRow(row);
      // An open circuit whose trial came (FAILED, or QUEUED when it found no slot at the time).
      const trial = row.circuitState !== 'CLOSED';
      if (trial) this.circuit.beginTrial();
      const restart = row.pendingAction === 'RESTART';
      await this.write({
        status: trial ? 'RECONNECTING' : 'STARTING',
        patch: {
          queuedAt: null,
          nextReconnectAt: null,
          ...(trial ? { circuitState: this.circuit.state } : { lastError: null }),
          ...(restart ? { reconnectAttempts: 0 } : {}),
        },
        ...(restart ? { stats: { reset: true }, clearActionSeq: row.actionSeq } : {}),
      });
      if (restart) this.reconnectAttempts = 0;
      await this.connect();
    });
  }

  /** Moves the session towards what its row says (the reconciler and every wake-up hint call this). */
  converge(row: SessionRecord | null): Promise<void> {
    return this.op(() => this.applyRow(row));
  }

  /** Drop and reconnect now, ignoring backoff (not an open circuit). */
  reconnectNow(): Promise<void> {
    return this.op(async () => {
      if (this.circuit.state === 'OPEN') throw new ConflictError('The reconnect circuit is open: reset it first (POST .../circuit/reset)');
      await this.dropConnection();
      this.deps.metrics.reconnect('manual');
      await this.write({ status: 'RECONNECTING' });
      await this.connect();
    });
  }

  /** Close the breaker, zero its failures; a session waiting to retry tries at once. */
  resetCircuit(): Promise<void> {
    return this.op(async () => {
      this.circuit.reset();
      await this.write({ status: this.status, patch: { circuitState: 'CLOSED', circuitFailures: 0 } });
      if (this.phase === 'waiting') {
        this.timers.clearRetry();
        await this.connect();
      }
    });
  }

  /** Pairing-code login; only while the socket waits for pairing. Not queued: it waits for WhatsApp's answer. */
  async pairingCode(phone: string): Promise<string> {
    const connection = this.connection;
    if (this.ended || !connection || (this.phase !== 'pairing' && this.phase !== 'connecting')) {
      throw new ConflictError(`Session is ${this.status}: a pairing code is only available while it waits for pairing`);
    }
    return connection.requestPairingCode(phone);
  }

  /**
   * Watchdog pass: an idle WORKING socket must answer a ping, or goes through
   * the reconnect path; a driver with nothing in flight is connected (a session
   * must never go silent).
   */
  async checkHealth(intervalMs: number, pingTimeoutMs: number): Promise<void> {
    if (this.ended) return;
    if (this.phase === 'idle' && this.ops.size === 0) {
      await this.op(async () => {
        if (this.phase === 'idle') await this.connect();
      });
      return;
    }
    const connection = this.connection;
    if (this.phase !== 'open' || !connection || Date.now() - connection.lastActivityAt() < intervalMs) return;
    const generation = this.generation;
    try {
      await connection.ping(pingTimeoutMs);
    } catch (error) {
      await this.op(async () => {
        if (generation !== this.generation || this.phase !== 'open') return; // replaced meanwhile
        this.log.warn(`session ${this.name}: socket did not answer a ping (${(error as Error).message}); reconnecting`);
        await this.dropConnection();
        await this.scheduleReconnect('connection_lost', 'socket did not answer the health check');
      });
    }
  }

  /** Lease lost or fenced out: close the socket and leave the row to its new owner. Not queued: it must act now. */
  async abandon(reason: string): Promise<void> {
    if (this.ended) return;
    this.log.warn(`session ${this.name}: giving the session up (${reason})`);
    await this.finish(false);
  }

  /** Process shutdown: close the socket, keep the row as it is (desired RUNNING), hand the lease to another worker. */
  async shutdown(): Promise<void> {
    if (this.ended) return;
    await this.finish(true);
  }

  /** The owner-only handle messaging sends through; null unless WORKING here under a held lease. */
  channel(): SessionChannel | null {
    const connection = this.connection;
    if (this.ended || this.phase !== 'open' || !connection || !this.deps.isLeased(this.id)) return null;
    const generation = this.generation;
    return new SessionChannel(this.id, this.name, connection, () => !this.ended && this.phase === 'open' && this.generation === generation && this.deps.isLeased(this.id));
  }

  get currentStatus(): SessionStatus {
    return this.status;
  }

  get isEnded(): boolean {
    return this.ended;
  }

  cacheSizes(): Record<string, number> {
    return { ...this.context.sizes(), ...(this.connection?.cacheSizes() ?? {}) };
  }

  // ----------------------------------------------------- the wanted state

  private async applyRow(row: SessionRecord | null): Promise<void> {
    if (!row) return this.finish(true); // deleted under us: nothing to write
    if (row.leaseEpoch !== this.epoch) return this.abandon(`another worker took the session (epoch ${row.leaseEpoch}, ours ${this.epoch})`);
    if (row.pendingAction === 'DELETE' || (row.pendingAction === 'LOGOUT' && row.actionSeq !== this.handledLogoutSeq)) return this.logoutAndWipe(row);
    if (row.desiredState === 'STOPPED') return this.stopHere();
    if (row.pendingAction === 'RESTART' && row.actionSeq !== this.handledActionSeq) return this.restart(row.actionSeq);
    // Desired RUNNING: make sure something is in flight, and that the row shows where we are.
    if (this.phase === 'idle') return this.connect();
    if (!this.writer.pendingStatus && this.persisted !== this.status) await this.write({ status: this.status });
  }

  private async stopHere(): Promise<void> {
    await this.dropConnection();
    await this.write({ status: 'STOPPED', patch: { qr: null, qrExpiresAt: null, nextReconnectAt: null, queuedAt: null } });
    await this.finish(true);
  }

  private async restart(seq: number): Promise<void> {
    this.handledActionSeq = seq;
    await this.dropConnection();
    this.qrCount = 0;
    this.reconnectAttempts = 0;
    this.circuit.reset();
    await this.write({
      status: 'STARTING',
      patch: { lastError: null, reconnectAttempts: 0, nextReconnectAt: null, circuitState: 'CLOSED', circuitFailures: 0 },
      stats: { reset: true },
      clearActionSeq: seq,
    });
    await this.connect();
  }

  /**
   * LOGOUT and DELETE: unlink the device at WhatsApp (through the open socket,
   * or by connecting with the stored credentials), wipe the auth state, then
   * LOGGED_OUT (and start again with a new QR if the session should run) or
   * remove the row.
   */
  private async logoutAndWipe(row: SessionRecord): Promise<void> {
    const seq = row.actionSeq;
    let unlinkError: string | null = null;
    const open = this.phase === 'open' ? this.connection : null;
    if (open) {
      this.detachConnection();
      await open.logout().catch((error: unknown) => (unlinkError = (error as Error).message));
    } else {
      await this.dropConnection();
      unlinkError = await this.unlinkOffline();
    }
    if (unlinkError) this.log.warn(`session ${this.name}: could not unlink the device at WhatsApp (${unlinkError}); wiping the credentials anyway`);
    await this.deps.auth.wipe(this.id);
    if (row.pendingAction === 'DELETE') {
      await this.deps.sessions.deleteFenced({ id: this.id, epoch: this.epoch });
      return this.finish(true);
    }
    await this.write({
      status: 'LOGGED_OUT',
      patch: {
        me: null,
        qr: null,
        qrExpiresAt: null,
        nextReconnectAt: null,
        queuedAt: null,
        lastError: unlinkError ? `Logged out; the device could not be unlinked at WhatsApp (${unlinkError}): remove it in the phone's Linked devices` : null,
      },
      clearActionSeq: seq,
    });
    this.handledLogoutSeq = seq;
    if (row.desiredState !== 'RUNNING') return this.finish(true);
    // "logout, then start": a fresh pairing.
    this.handledActionSeq = seq;
    this.qrCount = 0;
    await this.write({ status: 'STARTING', stats: { reset: true } });
    await this.connect();
  }

  private unlinkOffline(): Promise<string | null> {
    const options = {
      engine: this.deps.engine,
      auth: this.deps.auth.forSession(this.id),
      sessionId: this.id,
      sessionName: this.name,
      timeoutMs: ATTEMPT_DEADLINE_MS,
      onLateFailure: (error: unknown) => this.deps.background.record('session unlink cleanup', error, { session: this.name }),
    };
    return unlinkWithRetries(options, UNLINK_ATTEMPTS, (attempt) => backoffDelay(attempt, this.deps.config.RECONNECT_BASE_MS, 10_000));
  }

  // ----------------------------------------------------------- connecting

  /**
   * Starts a connection attempt. The engine first reads the auth state, which
   * may be slow (a locked row, a loaded database): the queue is not held while
   * it does, so a stop or restart is carried out at once, and the socket that
   * arrives for a superseded attempt is closed on arrival. The attempt deadline
   * covers the wait too.
   */
  private async connect(): Promise<void> {
    if (this.ended || this.connection || this.phase === 'connecting') return;
    this.timers.clearRetry();
    const generation = ++this.generation;
    this.phase = 'connecting';
    this.armDeadline(generation);
    const pending = this.deps.engine.connect({
      sessionId: this.id,
      sessionName: this.name,
      auth: this.deps.auth.forSession(this.id),
      onEvent: (event) => this.onEngineEvent(generation, event),
      getMessage: (waMessageId) => this.deps.hooks.sentContent(this.id, waMessageId),
    });
    this.deps.background.track(
      'session connect',
      pending.then(
        // Straight on the queue, not through op(): a socket must be closed even after the driver ended.
        (connection) => this.ops.run(() => this.connected(generation, connection)),
        (error: unknown) =>
          this.op(async () => {
            if (this.ended || generation !== this.generation) return;
            this.timers.clearDeadline();
            this.phase = 'idle';
            // Auth state could not be read (or similar): never fall back to fresh creds.
            await this.attemptFailed('unknown', `could not start the connection: ${(error as Error).message}`);
          }),
      ),
      { session: this.name },
    );
  }

  private async connected(generation: number, connection: EngineConnection): Promise<void> {
    if (this.ended || generation !== this.generation) {
      await connection.close();
      return;
    }
    this.connection = connection;
  }

  private onEngineEvent(generation: number, event: EngineEvent): void {
    switch (event.type) {
      case 'message':
        return this.inbound.message(event.message);
      case 'receipt':
        return this.inbound.receipt(event);
      case 'creds':
        return;
      default:
        this.enqueue(`engine ${event.type}`, async () => {
          if (this.ended || generation !== this.generation) return; // an older socket's late event
          if (event.type === 'qr') await this.onQr(event.value, event.expiresAt);
          else if (event.type === 'open') await this.onOpen(event.me);
          else await this.onClose(event.disconnect);
        });
    }
  }

  private async onQr(value: string, expiresAt: Date): Promise<void> {
    this.timers.clearDeadline();
    this.phase = 'pairing';
    this.qrCount += 1;
    if (this.qrCount > this.deps.config.QR_MAX_ATTEMPTS) {
      return this.endForGood('STOPPED', `QR code not scanned after ${this.deps.config.QR_MAX_ATTEMPTS} attempts`, false);
    }
    await this.write({ status: 'SCAN_QR', patch: { qr: value, qrExpiresAt: expiresAt } });
  }

  private async onOpen(me: EngineMe): Promise<void> {
    this.timers.clearDeadline();
    this.phase = 'open';
    this.restartsWithoutOpen = 0;
    this.qrCount = 0;
    this.reconnectAttempts = 0;
    this.circuit.recordSuccess();
    await this.write({
      status: 'WORKING',
      patch: { me, qr: null, qrExpiresAt: null, lastError: null, reconnectAttempts: 0, nextReconnectAt: null, circuitState: 'CLOSED', circuitFailures: 0 },
      stats: { connectedSince: new Date().toISOString() },
    });
    await this.deps.hooks.notifyWorking({ id: this.id, name: this.name });
  }

  private async onClose(disconnect: EngineDisconnect): Promise<void> {
    const wasOpen = this.phase === 'open';
    this.timers.clearDeadline();
    this.connection = null;
    this.phase = 'idle';
    const decision = decideReconnect(disconnect.kind, disconnect.message);
    switch (decision.action) {
      case 'reconnect-now':
        if (++this.restartsWithoutOpen > MAX_RESTARTS_WITHOUT_OPEN) return this.attemptFailed(disconnect.kind, 'WhatsApp asked to restart the connection repeatedly');
        this.deps.metrics.reconnect(disconnect.kind);
        return this.connect();
      case 'terminal':
        return this.endForGood(decision.status, decision.error, decision.wipeAuth);
      case 'ignore': // closed_by_us, yet this socket was current: nobody meant it, so reconnect
      case 'backoff': {
        const message = disconnect.message || disconnect.kind;
        return wasOpen ? this.scheduleReconnect(disconnect.kind, message) : this.attemptFailed(disconnect.kind, message);
      }
    }
  }

  /** A connection attempt that never opened: the circuit counts it. */
  private async attemptFailed(reason: string, message: string): Promise<void> {
    if (this.circuit.recordFailure()) return this.openCircuit(message);
    await this.scheduleReconnect(reason, message);
  }

  private async scheduleReconnect(reason: string, message: string): Promise<void> {
    this.reconnectAttempts += 1;
    const delay = backoffDelay(this.reconnectAttempts, this.deps.config.RECONNECT_BASE_MS, this.deps.config.RECONNECT_MAX_MS);
    this.deps.metrics.reconnect(reason);
    await this.deps.sessions.incrementStat(this.id, 'reconnects');
    await this.write({
      status: 'RECONNECTING',
      patch: {
        reconnectAttempts: this.reconnectAttempts,
        nextReconnectAt: new Date(Date.now() + delay),
        lastError: message || reason,
        circuitFailures: this.circuit.failures,
        circuitState: this.circuit.state,
      },
    });
    this.phase = 'waiting';
    const generation = this.generation;
    this.timers.armRetry(delay, () =>
      this.enqueue('reconnect timer', async () => {
        if (generation === this.generation && this.phase === 'waiting') await this.connect();
      }),
    );
  }

  /**
   * Too many failures in a row: FAILED, and the slot is released so QUEUED
   * sessions can run. The row carries the trial time; whichever worker has a
   * free slot then adopts it for one half-open trial.
   */
  private async openCircuit(message: string): Promise<void> {
    await this.dropConnection();
    await this.write({
      status: 'FAILED',
      patch: {
        circuitState: 'OPEN',
        circuitFailures: this.circuit.failures,
        nextReconnectAt: new Date(Date.now() + this.deps.config.CIRCUIT_BREAKER_RESET_MS),
        lastError: `Reconnect circuit open after ${this.circuit.failures} consecutive connection failures: ${message}`,
      },
    });
    await this.finish(true);
  }

  /** LOGGED_OUT, CONFLICT, FAILED (terminal codes) or STOPPED (QR not scanned): never auto-reconnect. */
  private async endForGood(status: SessionStatus, error: string, wipeAuth: boolean): Promise<void> {
    await this.dropConnection();
    if (wipeAuth) await this.deps.auth.wipe(this.id);
    // The terminal state is written (fenced) before the lease is handed back.
    await this.write({
      status,
      patch: { desiredState: 'STOPPED', lastError: error, qr: null, qrExpiresAt: null, nextReconnectAt: null, ...(wipeAuth ? { me: null } : {}) },
    });
    await this.finish(true);
  }

  private armDeadline(generation: number): void {
    this.timers.armDeadline(ATTEMPT_DEADLINE_MS, () =>
      this.enqueue('attempt deadline', async () => {
        if (generation !== this.generation || this.phase !== 'connecting') return;
        await this.dropConnection();
        await this.attemptFailed('connection_lost', `no answer from WhatsApp within ${ATTEMPT_DEADLINE_MS / 1000} s of connecting`);
      }),
    );
  }

  // ------------------------------------------------------------ plumbing

  /** Runs `task` on the serial queue; a fenced-out write ends the driver, other errors reach the caller. */
  private op(task: () => Promise<void>): Promise<void> {
    return this.ops.run(async () => {
      if (this.ended) return;
      try {
        await task();
      } catch (error) {
        if (error instanceof FencedOutError) return this.abandon(error.message);
        throw error;
      }
    });
  }

  /** An operation nobody awaits (engine events, timers): failures are logged and counted. */
  private enqueue(task: string, fn: () => Promise<void>): void {
    this.deps.background.track(`session ${task}`, this.op(fn), { session: this.name });
  }

  private async write(update: StatusUpdate): Promise<void> {
    this.status = update.status;
    await this.writer.write(update);
  }

  private async persist(update: StatusUpdate): Promise<void> {
    const record = await this.deps.publisher.write({ id: this.id, name: this.name, epoch: this.epoch }, this.persisted, update);
    if (!record) throw new FencedOutError('the session row moved to another owner or was deleted');
    this.persisted = record.status;
  }

  /** Forgets the current socket without closing it (the caller closes it its own way, e.g. logout). */
  private detachConnection(): void {
    this.timers.clearDeadline();
    this.connection = null;
    this.generation += 1;
    this.phase = 'idle';
  }

  private async dropConnection(): Promise<void> {
    const connection = this.connection;
    this.detachConnection();
    this.timers.clearRetry();
    if (connection) await connection.close().catch((error: unknown) => this.log.warn(`session ${this.name}: closing the socket failed: ${String(error)}`));
  }

  private async finish(handBack: boolean): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    this.writer.discard();
    await this.dropConnection();
    await this.inbound.drain();
    this.context.clear();
    await this.deps.released(this, handBack);
  }
}
