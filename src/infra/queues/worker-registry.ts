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
    // Leave a third of the shutdown budget for sockets, Redis and PostgreSQL.
    const budgetMs = Math.floor((this.config.SHUTDOWN_TIMEOUT_MS * 2) / 3);
    await Promise.all(
      [...this.workers].map(async (worker) => {
        let timer: NodeJS.Timeout | undefined;
        const graceful = worker.close().then(() => true);
        const timedOut = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), budgetMs)));
        const closed = await Promise.race([graceful, timedOut]);
        clearTimeout(timer);
        if (!closed) {
          this.logger.warn(`worker ${worker.name} still busy after ${budgetMs} ms: force-closing, its jobs will be retried`);
          await worker.close(true).catch(() => undefined);
        }
      }),
    );
    this.workers.clear();
  }
}
