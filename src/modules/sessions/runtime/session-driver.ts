import { ConflictError } from '../../../common/errors/domain-errors';
import type { EngineConnection, EngineDisconnect, EngineEvent, EngineMe } from '../engine/whatsapp-engine.port';
import type { SessionRecord, SessionStatus } from '../session.types';
import { DriverCore } from './driver-core';
import { unlinkWithRetries } from './offline-unlink';
import { backoffDelay, decideReconnect } from './reconnect-policy';

export { type DriverDeps } from './driver-core';

/** No QR, open or close this long after a socket was created: the attempt is dead (never wait forever). */
const ATTEMPT_DEADLINE_MS = 45_000;
/** 515 (restart required) follows pairing once; more in a row without an open is a loop, counted as a failure. */
const MAX_RESTARTS_WITHOUT_OPEN = 3;
/** Tries to unlink a device at WhatsApp before the credentials are wiped anyway. */
const UNLINK_ATTEMPTS = 3;

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
export class SessionDriver extends DriverCore {
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

  private onEngineEvent(generation: number, event: EngineEvent): Promise<void> | void {
    switch (event.type) {
      // The relay's queue is in arrival order: once it has drained what was handed so far, this
      // event is recorded (or given up, logged and counted), and the engine lets its receipt go.
      case 'message':
        this.inbound.message(event.message);
        return this.inbound.drain();
      case 'receipt':
        this.inbound.receipt(event);
        return this.inbound.drain();
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

}
