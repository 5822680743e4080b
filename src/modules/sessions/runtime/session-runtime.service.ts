import { Inject, Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../../../config';
import { EventBus } from '../../../infra/events/event-bus';
import { LifecycleService } from '../../../infra/lifecycle/lifecycle.service';
import { ConflictError, NotFoundError } from '../../../common/errors/domain-errors';
import { WHATSAPP_ENGINE, type EngineConnection, type EngineDisconnect, type EngineEvent, type WhatsAppEngine } from '../engine/whatsapp-engine.port';
import { PoolStatsService } from '../pool-stats.service';
import { SessionRepository, type SessionPatch } from '../session.repository';
import { EMPTY_STATS, type SessionRecord, type SessionStatus } from '../session.types';
import { AUTH_STATE_STORES, type AuthStateStores } from './auth-state-stores';
import { LiveSession } from './live-session';
import { backoffDelay, decideReconnect, type ReconnectDecision } from './reconnect-policy';
import { SessionCommandBus, type SessionCommand } from './session-command-bus';
import { AttemptCancelledError, BrokenCircuitError, SessionCircuit } from './session-circuit';
import { SessionLeaseService } from './session-lease.service';
import { SessionMetrics } from './session-metrics';
import { SessionPool } from './session-pool';
import { StatusWriter, type StatusUpdate } from './status-writer';

export type StartReason = 'start' | 'restart' | 'restore' | 'reconnect' | 'adopt';

const ADOPT_INTERVAL_MS = 5000;

/**
 * The worker side of sessions: owns live WhatsApp connections (at most
 * MAX_SESSIONS), drives each one's state machine (connect, QR, open, close →
 * reconnect with backoff or stop for good), guards reconnects with a circuit
 * breaker, holds a Redis lease per session, and adopts sessions that should
 * run but have no owner (pool FIFO, crashed workers, restarts).
 *
 * The database row is the truth every replica reads; this class writes it.
 */
@Injectable()
export class SessionRuntime implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(SessionRuntime.name);
  private readonly live = new Map<string, LiveSession>();
  readonly pool: SessionPool;
  private adoptTimer: NodeJS.Timeout | null = null;
  private adopting: Promise<void> | null = null;
  private shuttingDown = false;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(WHATSAPP_ENGINE) private readonly engine: WhatsAppEngine,
    @Inject(AUTH_STATE_STORES) private readonly auth: AuthStateStores,
    private readonly sessions: SessionRepository,
    private readonly leases: SessionLeaseService,
    private readonly commands: SessionCommandBus,
    private readonly events: EventBus,
    private readonly lifecycle: LifecycleService,
    private readonly metrics: SessionMetrics,
    private readonly poolStats: PoolStatsService,
  ) {
    this.pool = new SessionPool(config.MAX_SESSIONS);
    lifecycle.addStartupTask('sessions-restore');
    metrics.bindRuntime(this);
  }

  async onApplicationBootstrap(): Promise<void> {
    this.leases.startRenewal((id) => void this.onLeaseLost(id));
    await this.commands.subscribe((command) => this.onCommand(command));
    // Restore: sessions that should run and have no live owner are adopted now.
    await this.adoptOrphans().catch((error: unknown) => this.logger.error({ err: error }, 'initial session restore failed'));
    this.lifecycle.completeStartupTask('sessions-restore');
    this.adoptTimer = setInterval(() => void this.adoptOrphans().catch(() => undefined), ADOPT_INTERVAL_MS);
    this.adoptTimer.unref();
  }

  /** Closes every socket without changing desired state, and hands the leases back so other workers adopt at once. */
  async beforeApplicationShutdown(): Promise<void> {
    this.shuttingDown = true;
    if (this.adoptTimer) clearInterval(this.adoptTimer);
    this.leases.stopRenewal();
    await Promise.all([...this.live.values()].map((live) => this.release(live)));
    await this.poolStats.withdraw().catch(() => undefined);
  }

  // ---------------------------------------------------------------- queries

  isLive(sessionId: string): boolean {
    return this.live.has(sessionId);
  }

  liveSessions(): LiveSession[] {
    return [...this.live.values()];
  }

  /** Bounded-cache sizes of every live session, summed by cache name. */
  cacheSizes(): Record<string, number> {
    const totals: Record<string, number> = {};
    for (const live of this.live.values()) {
      const sizes = { ...live.context.sizes(), ...(live.connection?.cacheSizes() ?? {}) };
      for (const [k, v] of Object.entries(sizes)) totals[k] = (totals[k] ?? 0) + v;
    }
    return totals;
  }

  // ------------------------------------------------------------- lifecycle

  /** session-init job: run the session here if it should run, is not owned elsewhere, and a slot is free. */
  async start(sessionId: string, reason: StartReason): Promise<void> {
    if (this.shuttingDown) throw new Error('worker is shutting down');
    const existing = this.live.get(sessionId);
    if (existing) {
      if (reason === 'restart') await this.restartLocal(existing);
      return;
    }
    const record = await this.sessions.findById(sessionId);
    if (!record || record.desiredState !== 'RUNNING') return;

    const holder = await this.leases.holder(sessionId);
    if (holder && holder !== this.config.INSTANCE_ID) {
      if (reason === 'restart') await this.commands.publish({ type: 'restart', sessionId, target: holder });
      return;
    }
    if (!this.pool.tryOccupy(sessionId)) {
      await this.markQueued(record);
      return;
    }
    if (!(await this.leases.acquire(sessionId))) {
      this.pool.release(sessionId);
      return;
    }
    const live = this.createLive(record);
    this.live.set(sessionId, live);
    this.publishPool();
    const fresh = reason === 'start' || reason === 'restart';
    const trial = record.status === 'FAILED' && record.circuitState === 'OPEN';
    await this.persist(live, {
      status: 'STARTING',
      patch: {
        queuedAt: null,
        lastError: trial ? record.lastError : null,
        ...(fresh ? { stats: { ...EMPTY_STATS }, reconnectAttempts: 0, nextReconnectAt: null } : {}),
        ...(trial ? { circuitState: 'HALF_OPEN' } : {}),
      },
    });
    void this.runAttempt(live);
  }

  /** session-close job on the owner: stop, log out or delete. */
  async close(sessionId: string, action: 'stop' | 'logout' | 'delete'): Promise<void> {
    const live = this.live.get(sessionId);
    if (!live) return;
    live.stopping = true;
    if (action !== 'stop' && live.connection && live.status === 'WORKING') {
      await live.connection.logout().catch((error: unknown) => this.logger.warn(`logout of ${live.name} failed: ${String(error)}`));
    }
    await this.release(live);
    if (action === 'delete') return; // the row is gone (or going); nothing to write
    if (action === 'logout') await this.auth.wipe(sessionId);
    await this.persistNow(live, { status: action === 'logout' ? 'LOGGED_OUT' : 'STOPPED', patch: {
      qr: null,
      qrExpiresAt: null,
      nextReconnectAt: null,
      ...(action === 'logout' ? { me: null, lastError: null } : {}),
    } });
    void this.adoptOrphans();
  }

  /**
   * session-close job on any worker: acts locally when this worker owns the
   * socket, forwards to the owner otherwise, and when nobody owns it, settles
   * the row directly (a QUEUED or FAILED session has no socket to close).
   */
  async closeAnywhere(sessionId: string, action: 'stop' | 'logout' | 'delete'): Promise<void> {
    if (this.live.has(sessionId)) return this.close(sessionId, action);
    const holder = await this.leases.holder(sessionId);
    if (holder && holder !== this.config.INSTANCE_ID) {
      await this.commands.publish({ type: action, sessionId, target: holder });
      return;
    }
    if (action === 'delete') return;
    const record = await this.sessions.findById(sessionId);
    if (!record || record.desiredState !== 'STOPPED') return; // started again meanwhile
    if (action === 'logout') await this.auth.wipe(sessionId);
    const status: SessionStatus = action === 'logout' ? 'LOGGED_OUT' : record.status === 'LOGGED_OUT' || record.status === 'CONFLICT' ? record.status : 'STOPPED';
    const updated = await this.sessions.update(sessionId, {
      status,
      queuedAt: null,
      qr: null,
      qrExpiresAt: null,
      nextReconnectAt: null,
      ...(action === 'logout' ? { me: null } : {}),
    });
    if (updated && status !== record.status) {
      this.events.emit('session.status', { sessionId, session: record.name, status, previous: record.status, lastError: updated.lastError });
    }
  }

  /** Force a reconnect now (ignores backoff; refused while the circuit is open). */
  async reconnectNow(sessionId: string): Promise<void> {
    const live = this.requireLive(sessionId);
    if (live.circuit.state === 'OPEN') throw new ConflictError('The reconnect circuit is open: reset it first (POST .../circuit/reset)');
    live.clearTimers();
    await live.dropConnection();
    live.stopping = false;
    this.metrics.reconnect('manual');
    await this.persist(live, { status: 'RECONNECTING' });
    void this.runAttempt(live);
  }

  /** The watchdog found the socket dead: drop it and reconnect through backoff and the circuit. */
  async onDeadConnection(sessionId: string): Promise<void> {
    const live = this.live.get(sessionId);
    if (!live || live.stopping) return;
    await live.dropConnection();
    await this.scheduleReconnect(live, 'connection_lost', 'socket did not answer the health check');
  }

  /** Close the breaker, zero its failures and reconnect when the session had failed. */
  async resetCircuit(sessionId: string): Promise<void> {
    const live = this.requireLive(sessionId);
    live.circuit.reset();
    live.clearTimers();
    const failed = live.status === 'FAILED';
    await this.writeNow(live, live.status, { circuitState: 'CLOSED', circuitFailures: 0, nextReconnectAt: null });
    if (failed) {
      live.reconnectAttempts = 0;
      await this.persist(live, { status: 'RECONNECTING', patch: { reconnectAttempts: 0, lastError: null } });
      void this.runAttempt(live);
    }
  }

  async pairingCode(sessionId: string, phone: string): Promise<string> {
    const live = this.requireLive(sessionId);
    if (!live.connection || (live.status !== 'SCAN_QR' && live.status !== 'STARTING')) {
      throw new ConflictError(`Session is ${live.status}: a pairing code is only available while it waits for pairing`);
    }
    return live.connection.requestPairingCode(phone);
  }

  // --------------------------------------------------------------- commands

  private async onCommand(command: SessionCommand): Promise<void> {
    switch (command.type) {
      case 'stop':
      case 'logout':
      case 'delete':
        return this.close(command.sessionId, command.type);
      case 'restart': {
        const live = this.live.get(command.sessionId);
        if (live) await this.restartLocal(live);
        return;
      }
      case 'reconnect':
        return this.live.has(command.sessionId) ? this.reconnectNow(command.sessionId) : undefined;
      case 'circuit-reset':
        return this.live.has(command.sessionId) ? this.resetCircuit(command.sessionId) : undefined;
      case 'pairing-code':
        try {
          const code = await this.pairingCode(command.sessionId, command.phone);
          await this.commands.reply(command.replyTo, { ok: true, value: code });
        } catch (error) {
          const status = typeof (error as { statusCode?: unknown }).statusCode === 'number' ? (error as { statusCode: number }).statusCode : 409;
          await this.commands.reply(command.replyTo, { ok: false, status, message: (error as Error).message });
        }
        return;
    }
  }

  // ---------------------------------------------------------- state machine

  private createLive(record: SessionRecord): LiveSession {
    const circuit = new SessionCircuit(this.config.CIRCUIT_BREAKER_THRESHOLD, this.config.CIRCUIT_BREAKER_RESET_MS);
    let live!: LiveSession;
    const writer = new StatusWriter(
      this.config.STATUS_DEBOUNCE_MS,
      (update) => this.persistNow(live, update),
      (error) => this.logger.error({ err: error, session: record.name }, 'session status write failed'),
    );
    live = new LiveSession(record.id, record.name, record.status, circuit, writer);
    live.reconnectAttempts = record.reconnectAttempts;
    return live;
  }

  /** One connection attempt through the circuit breaker; resolves when the socket opens. */
  private async runAttempt(live: LiveSession): Promise<void> {
    if (live.stopping) return;
    try {
      await live.circuit.execute(() => this.connectOnce(live));
    } catch (error) {
      if (live.stopping || error instanceof AttemptCancelledError) return;
      if (error instanceof BrokenCircuitError || live.circuit.state === 'OPEN') {
        await this.onCircuitOpen(live, error);
        return;
      }
      const disconnect = (error as { disconnect?: EngineDisconnect }).disconnect;
      await this.scheduleReconnect(live, disconnect?.kind ?? 'connect_error', (error as Error).message);
    }
  }

  private async connectOnce(live: LiveSession): Promise<void> {
    const generation = ++live.generation;
    const opened = new Promise<void>((resolve, reject) => {
      live.attempt = { resolve, reject };
    });
    // A stop, restart or shutdown may cancel the attempt while connect() below is
    // still pending, before anyone awaits `opened`: that is expected, not an
    // unhandled rejection (the caller still gets it through `return opened`).
    opened.catch(() => undefined);
    let connection: EngineConnection;
    try {
      connection = await this.engine.connect({
        sessionId: live.id,
        sessionName: live.name,
        auth: this.auth.forSession(live.id),
        onEvent: (event) => {
          if (generation === live.generation) void this.onEngineEvent(live, event);
        },
      });
    } catch (error) {
      live.attempt = null;
      // Auth state could not be read (or similar): never fall back to fresh creds.
      throw Object.assign(new Error(`could not start the connection: ${(error as Error).message}`), {
        disconnect: { code: null, kind: 'unknown', message: (error as Error).message },
      });
    }
    if (generation !== live.generation) {
      // Cancelled while connecting: this socket belongs to nobody. Close it now, and never
      // let it replace the connection of a newer attempt.
      await connection.close().catch(() => undefined);
      throw new AttemptCancelledError();
    }
    live.connection = connection;
    return opened;
  }

  private async onEngineEvent(live: LiveSession, event: EngineEvent): Promise<void> {
    try {
      switch (event.type) {
        case 'qr':
          return await this.onQr(live, event.value, event.expiresAt);
        case 'open':
          return await this.onOpen(live, event);
        case 'close':
          return await this.onClose(live, event.disconnect);
        case 'message':
          if (!live.context.markInbound(event.message.waMessageId)) return;
          live.context.rememberContact(event.message.chatId, event.message.pushName);
          this.events.emit('session.inbound', { sessionId: live.id, session: live.name, message: event.message });
          return;
        case 'receipt':
          this.events.emit('session.receipt', { sessionId: live.id, session: live.name, ...event });
          return;
        case 'creds':
          return;
      }
    } catch (error) {
      this.logger.error({ err: error, session: live.name, event: event.type }, 'session event handling failed');
    }
  }

  private async onQr(live: LiveSession, value: string, expiresAt: Date): Promise<void> {
    live.qrCount += 1;
    if (live.qrCount > this.config.QR_MAX_ATTEMPTS) {
      await this.stopForGood(live, 'STOPPED', `QR code not scanned after ${this.config.QR_MAX_ATTEMPTS} attempts`, false);
      return;
    }
    await this.writeNow(live, 'SCAN_QR', { qr: value, qrExpiresAt: expiresAt });
    this.events.emit('session.qr', { sessionId: live.id, session: live.name, value, expiresAt: expiresAt.toISOString() });
  }

  private async onOpen(live: LiveSession, event: Extract<EngineEvent, { type: 'open' }>): Promise<void> {
    live.attempt?.resolve();
    live.attempt = null;
    live.qrCount = 0;
    live.reconnectAttempts = 0;
    const record = await this.sessions.findById(live.id);
    await this.writeNow(live, 'WORKING', {
      me: event.me,
      qr: null,
      qrExpiresAt: null,
      lastError: null,
      reconnectAttempts: 0,
      nextReconnectAt: null,
      circuitState: 'CLOSED',
      circuitFailures: 0,
      stats: { ...EMPTY_STATS, ...record?.stats, connectedSince: new Date().toISOString() },
    });
  }

  private async onClose(live: LiveSession, disconnect: EngineDisconnect): Promise<void> {
    live.connection = null;
    if (live.stopping) return;
    const decision: ReconnectDecision = decideReconnect(disconnect.kind, disconnect.message);
    const attempt = live.attempt;
    live.attempt = null;
    switch (decision.action) {
      case 'ignore':
        attempt?.reject(new AttemptCancelledError());
        return;
      case 'reconnect-now':
        // 515 follows a successful pairing: not a failure.
        attempt?.resolve();
        this.metrics.reconnect(disconnect.kind);
        void this.runAttempt(live);
        return;
      case 'terminal':
        attempt?.resolve();
        await this.stopForGood(live, decision.status, decision.error, decision.wipeAuth);
        return;
      case 'backoff':
        if (attempt) {
          // A failed attempt: the circuit counts it, runAttempt schedules the retry.
          attempt.reject(Object.assign(new Error(disconnect.message || disconnect.kind), { disconnect }));
        } else {
          await this.scheduleReconnect(live, disconnect.kind, disconnect.message);
        }
        return;
    }
  }

  private async scheduleReconnect(live: LiveSession, reason: string, message: string): Promise<void> {
    if (live.stopping) return;
    live.reconnectAttempts += 1;
    const delay = backoffDelay(live.reconnectAttempts, this.config.RECONNECT_BASE_MS, this.config.RECONNECT_MAX_MS);
    const nextAt = new Date(Date.now() + delay);
    this.metrics.reconnect(reason);
    this.bumpStat(live, 'reconnects');
    await this.persist(live, {
      status: 'RECONNECTING',
      patch: {
        reconnectAttempts: live.reconnectAttempts,
        nextReconnectAt: nextAt,
        lastError: message || reason,
        circuitFailures: live.circuit.failures,
        circuitState: live.circuit.state,
      },
    });
    live.clearTimers();
    live.reconnectTimer = setTimeout(() => {
      live.reconnectTimer = null;
      void this.runAttempt(live);
    }, delay);
  }

  private async onCircuitOpen(live: LiveSession, error: unknown): Promise<void> {
    await live.dropConnection();
    const nextAt = new Date(Date.now() + this.config.CIRCUIT_BREAKER_RESET_MS);
    const cause = error instanceof BrokenCircuitError ? '' : `: ${(error as Error).message}`;
    await this.writeNow(live, 'FAILED', {
      circuitState: 'OPEN',
      circuitFailures: live.circuit.failures,
      nextReconnectAt: nextAt,
      lastError: `Reconnect circuit open after ${live.circuit.failures} consecutive connection failures${cause}`,
    });
    // After the reset time the breaker lets one trial through (half-open).
    live.clearTimers();
    live.trialTimer = setTimeout(() => {
      live.trialTimer = null;
      void this.persist(live, { status: 'RECONNECTING', patch: { circuitState: 'HALF_OPEN' } }).then(() => this.runAttempt(live));
    }, this.config.CIRCUIT_BREAKER_RESET_MS + 1);
  }

  /** LOGGED_OUT, CONFLICT, FAILED (terminal codes) or STOPPED (QR timeout): release and never auto-reconnect. */
  private async stopForGood(live: LiveSession, status: SessionStatus, error: string, wipeAuth: boolean): Promise<void> {
    live.stopping = true;
    await this.release(live);
    if (wipeAuth) await this.auth.wipe(live.id);
    // The writer is disposed with the live session: persist directly.
    await this.persistNow(live, {
      status,
      patch: {
        desiredState: 'STOPPED',
        lastError: error,
        qr: null,
        qrExpiresAt: null,
        nextReconnectAt: null,
        ...(wipeAuth ? { me: null } : {}),
      },
    });
    void this.adoptOrphans();
  }

  private async restartLocal(live: LiveSession): Promise<void> {
    live.clearTimers();
    await live.dropConnection();
    live.stopping = false;
    live.qrCount = 0;
    await this.persist(live, { status: 'STARTING', patch: { stats: { ...EMPTY_STATS }, lastError: null } });
    void this.runAttempt(live);
  }

  /** Closes the socket, frees the slot and lease; the row keeps its status (for stop paths the caller writes it). */
  private async release(live: LiveSession): Promise<void> {
    this.live.delete(live.id);
    this.pool.release(live.id);
    this.publishPool();
    await live.writer.flush();
    await live.dispose();
    await this.leases.release(live.id);
  }

  private async onLeaseLost(sessionId: string): Promise<void> {
    const live = this.live.get(sessionId);
    if (!live) return;
    live.stopping = true;
    this.live.delete(sessionId);
    this.pool.release(sessionId);
    this.publishPool();
    await live.dispose();
  }

  private requireLive(sessionId: string): LiveSession {
    const live = this.live.get(sessionId);
    if (!live) throw new NotFoundError('Session is not running on this worker');
    return live;
  }

  // ------------------------------------------------------------- adoption

  /**
   * Fills free slots with sessions that should run and have no owner: the
   * pool's FIFO (QUEUED), sessions of a crashed or stopped worker whose lease
   * expired, and FAILED sessions whose circuit trial is due.
   */
  adoptOrphans(): Promise<void> {
    this.adopting ??= this.adoptOnce().finally(() => {
      this.adopting = null;
    });
    return this.adopting;
  }

  private async adoptOnce(): Promise<void> {
    if (this.shuttingDown) return;
    await this.reconcileLive();
    this.publishPool();
    if (this.pool.free === 0) return;
    const candidates = (await this.sessions.adoptionCandidates(this.pool.free * 4 + 10, new Date())).filter((c) => !this.live.has(c.id));
    if (!candidates.length) return;
    const holders = await this.leases.holders(candidates.map((c) => c.id));
    for (const candidate of candidates) {
      if (this.pool.free === 0 || this.shuttingDown) return;
      const holder = holders.get(candidate.id);
      if (holder && holder !== this.config.INSTANCE_ID) continue;
      await this.start(candidate.id, candidate.status === 'QUEUED' ? 'adopt' : 'restore').catch((error: unknown) =>
        this.logger.error({ err: error, session: candidate.name }, 'adopting session failed'),
      );
    }
  }

  /** Safety net for races between jobs: close live sessions whose row was stopped or deleted. */
  private async reconcileLive(): Promise<void> {
    const ids = [...this.live.keys()];
    if (!ids.length) return;
    const rows = new Map((await this.sessions.findManyByIds(ids)).map((r) => [r.id, r]));
    for (const id of ids) {
      const row = rows.get(id);
      if (!row) await this.close(id, 'delete');
      else if (row.desiredState === 'STOPPED') await this.close(id, 'stop');
    }
  }

  private async markQueued(record: SessionRecord): Promise<void> {
    if (record.status === 'QUEUED') return;
    // Only from a non-live status: another worker may be starting it right now.
    const notLive = ['STOPPED', 'FAILED', 'LOGGED_OUT', 'CONFLICT'] as SessionStatus[];
    const queued = await this.sessions.updateIfStatus(record.id, notLive, { status: 'QUEUED', queuedAt: new Date() });
    // When not queued, the row looks live: another worker runs it, or adoption by a worker with room will.
    if (queued) {
      this.events.emit('session.status', { sessionId: record.id, session: record.name, status: 'QUEUED', previous: record.status, lastError: record.lastError });
    }
  }

  /** Shares this worker's slot usage with every replica (GET /api/pool); best effort. */
  private publishPool(): void {
    if (this.shuttingDown) return;
    void this.poolStats.publish(this.pool.active, this.pool.max).catch(() => undefined);
  }

  // ------------------------------------------------------------- persistence

  private persist(live: LiveSession, update: StatusUpdate): Promise<void> {
    live.status = update.status;
    return live.writer.write(update);
  }

  /** Writes a final status now, bypassing the debounce (never delayed behind a stale transient state). */
  private writeNow(live: LiveSession, status: SessionStatus, patch: SessionPatch): Promise<void> {
    live.status = status;
    return live.writer.write({ status, patch }).then(() => (live.writer.hasPending ? live.writer.flush() : undefined));
  }

  private async persistNow(live: LiveSession, update: StatusUpdate): Promise<void> {
    const previous = live.lastPersistedStatus;
    const record = await this.sessions.update(live.id, { ...update.patch, status: update.status });
    if (!record) return; // deleted meanwhile
    live.lastPersistedStatus = update.status;
    if (previous !== update.status) {
      this.events.emit('session.status', { sessionId: live.id, session: live.name, status: update.status, previous, lastError: record.lastError });
    }
  }

  private bumpStat(live: LiveSession, stat: 'reconnects'): void {
    void this.sessions.incrementStat(live.id, stat).catch(() => undefined);
  }
}
