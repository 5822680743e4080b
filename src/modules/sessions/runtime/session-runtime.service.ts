import { Inject, Injectable, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../../../config';
import { settlesWithin } from '../../../common/async/settles-within';
import { NotFoundError } from '../../../common/errors/domain-errors';
import { BackgroundFailures } from '../../../infra/metrics/background-failures';
import { WorkerRegistry } from '../../../infra/queues/worker-registry';
import { WHATSAPP_ENGINE, type WhatsAppEngine } from '../engine/whatsapp-engine.port';
import { PoolStatsService } from '../pool-stats.service';
import { SessionHooks } from '../session-hooks';
import { SessionRepository } from '../session.repository';
import type { SessionRecord } from '../session.types';
import { AUTH_STATE_STORES, type AuthStateStores } from './auth-state-stores';
import type { SessionChannel } from './session-channel';
import { SessionCommandBus } from './session-command-bus';
import type { DriverCore } from './driver-core';
import { SessionDriver, type DriverDeps } from './session-driver';
import { SessionLeaseService } from './session-lease.service';
import { SessionMetrics } from './session-metrics';
import { SessionPool } from './session-pool';
import { SessionStatusPublisher } from './session-status.publisher';
import { workFor } from './session-work';

/** How long shutdown waits for one socket to close before moving on. */
const SHUTDOWN_CLOSE_MS = 5000;

/**
 * The worker side of sessions, as a thin registry: one SessionDriver per
 * session live here (at most MAX_SESSIONS running ones), taking sessions
 * (slot + Redis lease + fencing epoch) and routing everything about a session
 * to its driver. The drivers do the work; SessionReconciler decides what to
 * take; SessionOwnerCommands forwards the wake-up hints.
 */
@Injectable()
export class SessionRuntime implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly drivers = new Map<string, SessionDriver>();
  /** Sessions being taken right now (between the slot and the driver): a second adopt must not race the first. */
  private readonly adopting = new Set<string>();
  /** Kicks that arrived while their session was being taken: the new driver converges once more. */
  private readonly kickedWhileAdopting = new Set<string>();
  readonly pool: SessionPool;
  private readonly deps: DriverDeps;
  private shuttingDown = false;
  private slotFreed: () => void = () => undefined;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(WHATSAPP_ENGINE) engine: WhatsAppEngine,
    @Inject(AUTH_STATE_STORES) auth: AuthStateStores,
    private readonly sessions: SessionRepository,
    private readonly publisher: SessionStatusPublisher,
    private readonly leases: SessionLeaseService,
    private readonly commands: SessionCommandBus,
    private readonly poolStats: PoolStatsService,
    private readonly background: BackgroundFailures,
    private readonly workers: WorkerRegistry,
    hooks: SessionHooks,
    metrics: SessionMetrics,
  ) {
    this.pool = new SessionPool(config.MAX_SESSIONS);
    this.deps = {
      config,
      engine,
      auth,
      sessions,
      publisher,
      hooks,
      metrics,
      background,
      isLeased: (id) => this.leases.isHeld(id),
      released: (driver, handBack) => this.onReleased(driver, handBack),
    };
    metrics.bindRuntime(this);
  }

  onApplicationBootstrap(): void {
    this.leases.startRenewal((id, reason) => this.background.track('session abandon', this.drivers.get(id)?.abandon(reason) ?? Promise.resolve()));
  }

  /**
   * Shutdown order: no more adoptions; BullMQ workers stop taking jobs and the
   * running ones (sends) end; only then the sockets close and the leases are
   * handed back, so other workers adopt the sessions at once.
   */
  async beforeApplicationShutdown(): Promise<void> {
    this.shuttingDown = true;
    await this.workers.closeAll();
    await Promise.all(
      [...this.drivers.values()].map((driver) =>
        settlesWithin(driver.shutdown().catch((error: unknown) => this.background.record('session shutdown', error)), SHUTDOWN_CLOSE_MS),
      ),
    );
    this.leases.stopRenewal();
    await this.poolStats.withdraw().catch((error: unknown) => this.background.record('pool withdraw', error));
  }

  get isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  /** Called by the reconciler: wakes it when a slot frees up. */
  onSlotFreed(listener: () => void): void {
    this.slotFreed = listener;
  }

  // ---------------------------------------------------------------- queries

  isLive(sessionId: string): boolean {
    return this.drivers.has(sessionId) || this.adopting.has(sessionId);
  }

  liveSessions(): SessionDriver[] {
    return [...this.drivers.values()];
  }

  channel(sessionId: string): SessionChannel | null {
    return this.drivers.get(sessionId)?.channel() ?? null;
  }

  /** Bounded-cache sizes of every live session, summed by cache name. */
  cacheSizes(): Record<string, number> {
    const totals: Record<string, number> = {};
    for (const driver of this.drivers.values()) {
      for (const [k, v] of Object.entries(driver.cacheSizes())) totals[k] = (totals[k] ?? 0) + v;
    }
    return totals;
  }

  // --------------------------------------------------------------- actions

  /**
   * "Look at this session": the one entry point of jobs and hints. A session
   * live here converges on its row; otherwise this worker takes it when it
   * should run (or be unlinked) and nobody holds it, tells the owner when
   * somebody does, or settles a row that only needs fixing.
   */
  async kick(sessionId: string, opts: { forwarded?: boolean } = {}): Promise<void> {
    if (this.adopting.has(sessionId)) {
      this.kickedWhileAdopting.add(sessionId);
      return;
    }
    const local = this.drivers.get(sessionId);
    const row = await this.sessions.findById(sessionId);
    if (local) return local.converge(row);
    if (!row || this.shuttingDown) return;
    const work = workFor(row, new Date());
    if (work === 'none') return;
    const holder = await this.leases.holder(sessionId);
    if (holder && holder !== this.config.INSTANCE_ID) {
      if (!opts.forwarded) await this.commands.publish({ type: 'kick', sessionId, target: holder });
      return;
    }
    if (work === 'settle') return this.settle(row);
    if (work === 'unlink' || this.pool.free > 0) {
      await this.adopt(row, work);
      return;
    }
    await this.queueOrForward(row, opts.forwarded === true);
  }

  /**
   * Takes a session here: a slot (none needed to unlink), the Redis lease, then
   * the fencing epoch, and hands it to a new driver (which starts in the
   * background). False when it was taken elsewhere meanwhile or no slot is free.
   */
  async adopt(row: SessionRecord, work: 'run' | 'unlink'): Promise<boolean> {
    const id = row.id;
    if (this.drivers.has(id) || this.adopting.has(id) || this.shuttingDown) return false;
    if (work === 'unlink') this.pool.occupy(id);
    else if (!this.pool.tryOccupy(id)) return false;
    this.adopting.add(id);
    let acquired = false;
    try {
      acquired = await this.leases.acquire(id);
      const fresh = acquired ? await this.sessions.bumpEpoch(id) : null;
      if (!fresh || this.shuttingDown || this.drivers.has(id)) {
        await this.giveBack(id, acquired);
        return false;
      }
      const driver = new SessionDriver(this.deps, fresh);
      this.drivers.set(id, driver);
      this.adopting.delete(id);
      const rekick = this.kickedWhileAdopting.delete(id);
      this.publishPool();
      // The driver works on its own queue (a logout may take a minute): whoever adopted does not wait for it.
      const work = (async () => {
        await driver.start(fresh);
        if (rekick) await driver.converge(await this.sessions.findById(id));
      })();
      this.background.track('session start', work, { session: fresh.name });
      return true;
    } catch (error) {
      if (!this.drivers.has(id)) await this.giveBack(id, acquired);
      throw error;
    } finally {
      this.adopting.delete(id);
      this.kickedWhileAdopting.delete(id);
    }
  }

  /** Desired STOPPED, status still live-looking, nobody holds it: only the row needs fixing. */
  async settle(row: SessionRecord): Promise<void> {
    await this.publisher.writeUnowned(row, { status: 'STOPPED', queuedAt: null, qr: null, qrExpiresAt: null, nextReconnectAt: null });
  }

  /**
   * No slot here: another worker with room takes it (told at once), and only
   * when no live worker has room does the session become QUEUED.
   */
  async queueOrForward(row: SessionRecord, forwarded: boolean): Promise<void> {
    if (!forwarded) {
      const [target] = await this.poolStats.workersWithRoom();
      if (target) {
        await this.commands.publish({ type: 'kick', sessionId: row.id, target });
        return;
      }
    }
    if (row.status === 'QUEUED') return;
    await this.publisher.writeUnowned(row, { status: 'QUEUED', queuedAt: new Date() });
  }

  reconnectNow(sessionId: string): Promise<void> {
    return this.require(sessionId).reconnectNow();
  }

  resetCircuit(sessionId: string): Promise<void> {
    return this.require(sessionId).resetCircuit();
  }

  pairingCode(sessionId: string, phone: string): Promise<string> {
    return this.require(sessionId).pairingCode(phone);
  }

  /** Shares this worker's slot usage with every replica (GET /api/pool, QUEUED decisions). */
  publishPool(): void {
    if (this.shuttingDown) return;
    this.background.track('pool publish', this.poolStats.publish(this.pool.active, this.pool.max));
  }

  // -------------------------------------------------------------- internals

  private require(sessionId: string): SessionDriver {
    const driver = this.drivers.get(sessionId);
    if (!driver) throw new NotFoundError('Session is not running on this worker');
    return driver;
  }

  private async onReleased(driver: DriverCore, handBack: boolean): Promise<void> {
    if (this.drivers.get(driver.id) === driver) this.drivers.delete(driver.id);
    this.pool.release(driver.id);
    this.publishPool();
    if (handBack) await this.leases.release(driver.id).catch((error: unknown) => this.background.record('lease release', error, { session: driver.name }));
    else this.leases.forget(driver.id);
    if (!this.shuttingDown) this.slotFreed();
  }

  private async giveBack(sessionId: string, leased: boolean): Promise<void> {
    this.pool.release(sessionId);
    if (leased) await this.leases.release(sessionId).catch((error: unknown) => this.background.record('lease release', error));
  }
}
