import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { settlesWithin } from '../../../common/async/settles-within';
import { APP_CONFIG, type AppConfig } from '../../../config';
import { LifecycleService } from '../../../infra/lifecycle/lifecycle.service';
import { BackgroundFailures } from '../../../infra/metrics/background-failures';
import { SessionRepository } from '../session.repository';
import type { SessionRecord } from '../session.types';
import { SessionLeaseService } from './session-lease.service';
import { SessionRuntime } from './session-runtime.service';
import { workFor } from './session-work';

/** Rows read per page while looking for work: bounded memory whatever the number of sessions. */
const PAGE = 200;
/** How long a pass waits for one local session to converge before moving on (it goes on in its driver). */
const CONVERGE_WAIT_MS = 5000;
/** A freed slot triggers a pass this soon (coalescing several frees). */
const WAKE_DELAY_MS = 50;

/**
 * The convergence loop of one worker, every SESSION_RECONCILE_INTERVAL_MS,
 * at boot (the restore) and soon after a slot frees:
 * 1. every session live here converges on its row (stop, logout, delete,
 *    restart requested while a hint was lost; fencing: a row whose epoch moved
 *    on means another worker owns it, and the socket here is closed);
 * 2. sessions nobody holds are taken: desired-RUNNING ones while slots are
 *    free (whatever their status says: a STOPPED row that should run, an
 *    orphan of a dead worker, a due circuit trial, then the QUEUED FIFO),
 *    pending logouts/deletes always; rows that only look live are settled;
 * 3. sessions that should run but find no slot anywhere become QUEUED.
 * Every query is batched: one page of rows, one MGET of their leases.
 */
@Injectable()
export class SessionReconciler implements OnApplicationBootstrap, OnApplicationShutdown {
  private timer: NodeJS.Timeout | null = null;
  private wakeTimer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private again = false;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly runtime: SessionRuntime,
    private readonly sessions: SessionRepository,
    private readonly leases: SessionLeaseService,
    private readonly lifecycle: LifecycleService,
    private readonly background: BackgroundFailures,
  ) {
    lifecycle.addStartupTask('sessions-restore');
    runtime.onSlotFreed(() => this.wake());
  }

  async onApplicationBootstrap(): Promise<void> {
    // Restore: sessions that should run and have no live owner are taken now.
    await this.tick().catch((error: unknown) => this.background.record('session restore', error));
    this.lifecycle.completeStartupTask('sessions-restore');
    this.timer = setInterval(() => this.background.track('session reconcile', this.tick()), this.config.SESSION_RECONCILE_INTERVAL_MS);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    this.timer = null;
    this.wakeTimer = null;
  }

  /** Runs a pass soon (a slot freed up). */
  wake(): void {
    if (this.wakeTimer || this.runtime.isShuttingDown) return;
    this.wakeTimer = setTimeout(() => {
      this.wakeTimer = null;
      this.background.track('session reconcile', this.tick());
    }, WAKE_DELAY_MS);
  }

  /** One pass; a call during a pass runs one more right after it (nothing asked for is skipped). */
  tick(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      try {
        do {
          this.again = false;
          await this.pass();
        } while (this.again && !this.runtime.isShuttingDown);
      } finally {
        this.running = null;
      }
    })();
    return this.running;
  }

  private async pass(): Promise<void> {
    if (this.runtime.isShuttingDown) return;
    await this.convergeLocal();
    this.runtime.publishPool();
    const unplaced = await this.takeOrphans();
    await this.takeQueued();
    for (const row of unplaced) {
      if (this.runtime.pool.free > 0) await this.guard(row, () => this.runtime.adopt(row, 'run'));
      else await this.guard(row, () => this.runtime.queueOrForward(row, false));
    }
  }

  private async convergeLocal(): Promise<void> {
    const drivers = this.runtime.liveSessions();
    if (!drivers.length) return;
    const rows = new Map((await this.sessions.findManyByIds(drivers.map((d) => d.id))).map((r) => [r.id, r]));
    await Promise.all(drivers.map((driver) => this.bounded(driver.name, driver.converge(rows.get(driver.id) ?? null))));
  }

  /** Non-QUEUED sessions needing a worker; returns the ones that should run but found no slot here. */
  private async takeOrphans(): Promise<SessionRecord[]> {
    const unplaced: SessionRecord[] = [];
    let after: string | null = null;
    for (;;) {
      const page = await this.sessions.needingWork(this.localIds(), after, PAGE, new Date());
      if (!page.length) return unplaced;
      after = page[page.length - 1]!.id;
      for (const row of await this.unheld(page)) {
        if (this.runtime.isShuttingDown) return [];
        const work = workFor(row, new Date());
        if (work === 'settle') await this.guard(row, () => this.runtime.settle(row));
        else if (work === 'unlink') await this.guard(row, () => this.runtime.adopt(row, 'unlink'));
        else if (work === 'run') {
          if (this.runtime.pool.free > 0) await this.guard(row, () => this.runtime.adopt(row, 'run'));
          else unplaced.push(row);
        }
      }
      if (page.length < PAGE) return unplaced;
    }
  }

  /** The pool's FIFO, oldest first, while slots are free. */
  private async takeQueued(): Promise<void> {
    let after: SessionRecord | null = null;
    while (this.runtime.pool.free > 0 && !this.runtime.isShuttingDown) {
      const page = await this.sessions.queuedPage(this.localIds(), after, Math.max(10, this.runtime.pool.free * 2));
      if (!page.length) return;
      after = page[page.length - 1]!;
      for (const row of await this.unheld(page)) {
        if (this.runtime.pool.free === 0) return;
        await this.guard(row, () => this.runtime.adopt(row, 'run'));
      }
    }
  }

  /** Rows whose lease nobody else holds (one MGET per page). A lease under our own id but no driver is stale. */
  private async unheld(rows: SessionRecord[]): Promise<SessionRecord[]> {
    const holders = await this.leases.holders(rows.map((r) => r.id));
    return rows.filter((r) => {
      const holder = holders.get(r.id);
      return !this.runtime.isLive(r.id) && (!holder || holder === this.config.INSTANCE_ID);
    });
  }

  private localIds(): string[] {
    return this.runtime.liveSessions().map((d) => d.id);
  }

  /** One session's trouble must not stop the pass for the others. */
  private async guard(row: SessionRecord, fn: () => Promise<unknown>): Promise<void> {
    await fn().catch((error: unknown) => this.failed(row.name, error));
  }

  /** One slow session (a logout in progress, a stuck socket) must not hold the pass for the others. */
  private async bounded(session: string, work: Promise<void>): Promise<void> {
    await settlesWithin(work.catch((error: unknown) => this.failed(session, error)), CONVERGE_WAIT_MS);
  }

  private failed(session: string, error: unknown): void {
    this.background.record('session reconcile', error, { session });
  }
}
