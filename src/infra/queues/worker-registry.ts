import { Inject, Injectable, Logger, type BeforeApplicationShutdown } from '@nestjs/common';
import type { Worker } from 'bullmq';
import { APP_CONFIG, type AppConfig } from '../../config';

/**
 * Knows every BullMQ worker of this process, so that shutdown can close them
 * with a bounded wait (a job still running after the budget is force-closed and
 * retried elsewhere after its lock expires: at-least-once) and readiness can
 * tell whether the processors run.
 */
@Injectable()
export class WorkerRegistry implements BeforeApplicationShutdown {
  private readonly logger = new Logger(WorkerRegistry.name);
  private readonly workers = new Set<Worker>();
  private closing: Promise<void> | null = null;

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  add(worker: Worker): void {
    this.workers.add(worker);
  }

  get size(): number {
    return this.workers.size;
  }

  /** Names of workers that are not running (closed or paused). */
  notRunning(): string[] {
    return [...this.workers].filter((w) => !w.isRunning() || w.closing !== undefined).map((w) => w.name);
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.closeAll();
  }

  /**
   * Stops every worker taking jobs and waits (bounded) for the running ones.
   * Memoized: the sessions runtime calls it first, so that sockets close only
   * after no job can use them any more; the hook then finds it done.
   */
  closeAll(): Promise<void> {
    this.closing ??= (async () => {
      // Leave a third of the shutdown budget for sockets, Redis and PostgreSQL.
      const budgetMs = Math.floor((this.config.SHUTDOWN_TIMEOUT_MS * 2) / 3);
      await Promise.all([...this.workers].map((worker) => this.closeWithin(worker, budgetMs)));
      this.workers.clear();
    })();
    return this.closing;
  }

  /**
   * Stops taking jobs at once, lets running ones finish within `budgetMs`, then
   * closes. A job still running after the budget is abandoned: processors that
   * accept BullMQ's AbortSignal are told to stop, the worker is force-closed
   * (its lock is no longer renewed) and BullMQ's stalled-job check hands the job
   * to another worker once the lock expires (at-least-once).
   *
   * Waiting goes through `pause()`, not `close()`: BullMQ memoizes the first
   * `close()` call, so a graceful close that never ends would make the later
   * `close(true)` (and @nestjs/bullmq's own close at shutdown) wait forever.
   */
  private async closeWithin(worker: Worker, budgetMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const idle = worker.pause().then(
      () => true,
      () => true,
    );
    const timedOut = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), budgetMs)));
    const finished = await Promise.race([idle, timedOut]);
    clearTimeout(timer);
    if (!finished) {
      this.logger.warn(`worker ${worker.name} still busy after ${budgetMs} ms: abandoning its jobs, they will be retried`);
      worker.cancelAllJobs('shutdown');
    }
    await worker.close(!finished).catch((error: unknown) => this.logger.warn(`worker ${worker.name} close failed: ${String(error)}`));
  }
}
