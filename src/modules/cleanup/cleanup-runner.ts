import { Inject, Injectable, Logger, type BeforeApplicationShutdown } from '@nestjs/common';
import { DATABASE_UNAVAILABLE_MESSAGE, ServiceUnavailableError } from '../../common/errors/domain-errors';
import { isDatabaseUnavailable } from '../../common/errors/database-unavailable';
import { APP_CONFIG, type AppConfig } from '../../config';
import { RedisLockService, type Lease } from '../../infra/locks/redis-lock.service';
import { BackgroundFailures } from '../../infra/metrics/background-failures';
import { lockNameOf, type CleanupJob } from './cleanup-jobs';
import { CleanupMetrics } from './cleanup-metrics';
import { CleanupState } from './cleanup-state';
import { CleanupTasks } from './cleanup-tasks';

/** Lock TTL of a run; renewed every third of it while the run goes on. */
export const LOCK_TTL_MS = 60_000;
const RENEW_EVERY_MS = LOCK_TTL_MS / 3;

export type Trigger = 'cron' | 'boot' | 'manual';

/** The reason a run is aborted when the process shuts down (not a failure: the next run goes on). */
class ShutdownAbort extends Error {
  constructor() {
    super('interrupted: the process is shutting down');
  }
}

/**
 * Runs cleanup jobs, one run of a job at a time across the replicas (a Redis
 * lock per job, renewed while it runs; a local job's lock is this instance's
 * own). Every run, whatever triggered it, ends the same way: its rows and
 * duration in the metrics, its outcome in the shared job state (Redis), a
 * failure logged with its error and counted, never thrown: the next run
 * tries again. Runs are tracked, and shutdown stops them between batches and
 * waits for them, so none is left behind when PostgreSQL closes.
 */
@Injectable()
export class CleanupRunner implements BeforeApplicationShutdown {
  private readonly logger = new Logger('Cleanup');
  private readonly inFlight = new Map<Promise<void>, AbortController>();
  private stopping = false;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly locks: RedisLockService,
    private readonly state: CleanupState,
    private readonly metrics: CleanupMetrics,
    private readonly tasks: CleanupTasks,
    private readonly background: BackgroundFailures,
  ) {}

  /**
   * A scheduled run (cron tick or boot): runs `job` now unless a run of it
   * holds the lock; settles when the run is over and never rejects.
   */
  async runScheduled(job: CleanupJob, trigger: Exclude<Trigger, 'manual'>): Promise<'ran' | 'busy' | 'failed' | 'stopped'> {
    if (this.stopping) return 'stopped';
    let lease: Lease | null;
    try {
      lease = await this.locks.acquire(this.lockName(job), LOCK_TTL_MS);
    } catch (error) {
      // Redis down: nothing ran, nothing can be recorded there; logged and counted, the next tick tries again.
      this.metrics.failed(job);
      this.logger.error({ err: error, job, trigger }, 'cleanup job not run: its lock could not be taken');
      return 'failed';
    }
    if (!lease) {
      this.logger.debug({ job, trigger }, 'cleanup job already running elsewhere: skipped');
      return 'busy';
    }
    await this.track(this.execute(job, lease, trigger));
    return 'ran';
  }

  /**
   * A run asked for through the API: the lock is taken before answering
   * ('busy' when a run holds it), then the run goes on in the background
   * (tracked; its outcome lands in the job state). Rejects when the lock
   * cannot be taken (Redis down) or the process is shutting down.
   */
  async start(job: CleanupJob): Promise<'started' | 'busy'> {
    if (this.stopping) throw new ServiceUnavailableError('The process is shutting down: ask another replica');
    const lease = await this.locks.acquire(this.lockName(job), LOCK_TTL_MS);
    if (!lease) return 'busy';
    // execute() records its own failures; anything that still escapes it is logged and counted.
    this.background.track('cleanup run', this.track(this.execute(job, lease, 'manual')), { job });
    return 'started';
  }

  /** Holder tokens of the jobs' locks (null: not running), in one round trip. */
  async running(jobs: readonly CleanupJob[]): Promise<boolean[]> {
    const holders = await this.locks.holders(jobs.map((job) => this.lockName(job)));
    return holders.map((h) => h !== null);
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopping = true;
    for (const controller of this.inFlight.values()) controller.abort(new ShutdownAbort());
    const runs = [...this.inFlight.keys()];
    if (!runs.length) return;
    // Runs stop between statements; a statement in progress ends within PostgreSQL's query timeout.
    let timer: NodeJS.Timeout | undefined;
    const limit = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, Math.floor(this.config.SHUTDOWN_TIMEOUT_MS / 3));
      timer.unref();
    });
    await Promise.race([Promise.all(runs), limit]);
    clearTimeout(timer);
  }

  private lockName(job: CleanupJob): string {
    return lockNameOf(job, this.config.INSTANCE_ID);
  }

  private track(run: (controller: AbortController) => Promise<void>): Promise<void> {
    const controller = new AbortController();
    const promise = run(controller).finally(() => this.inFlight.delete(promise));
    this.inFlight.set(promise, controller);
    return promise;
  }

  /** One run under `lease`; never rejects. */
  private execute(job: CleanupJob, lease: Lease, trigger: Trigger) {
    return async (controller: AbortController): Promise<void> => {
      const startedAt = new Date();
      const started = performance.now();
      let rows = 0;
      let failure: unknown = null;
      const renewal = this.keepLease(lease, controller);
      try {
        await this.tasks.run(job, {
          signal: controller.signal,
          counted: (n) => {
            rows += n;
            this.metrics.rows(job, n);
          },
        });
      } catch (error) {
        failure = controller.signal.aborted ? controller.signal.reason : error;
      } finally {
        clearInterval(renewal);
      }
      const finishedAt = new Date();
      const durationMs = Math.round(performance.now() - started);
      this.metrics.observe(job, durationMs / 1000);
      if (failure === null) {
        this.metrics.succeeded(job, finishedAt);
        const log = rows > 0 || trigger === 'manual' ? 'log' : 'debug';
        this.logger[log]({ job, trigger, rows, durationMs }, 'cleanup job done');
      } else if (failure instanceof ShutdownAbort) {
        this.logger.warn({ job, trigger, rows, durationMs }, 'cleanup job interrupted by the shutdown: the next run goes on');
      } else {
        this.metrics.failed(job);
        this.logger.error({ err: failure, job, trigger, rows, durationMs }, 'cleanup job failed: retried at the next run');
      }
      try {
        await this.state.record(job, { startedAt, finishedAt, rows, error: failure === null ? null : describe(failure), by: this.config.INSTANCE_ID });
      } catch (error) {
        this.background.record('cleanup state', error, { job });
      }
      // Released after the state is written: a reader that sees the job idle sees its outcome.
      await this.locks.release(lease).catch(() => undefined);
    };
  }

  /**
   * Renews the run's lock every third of its TTL. Lost (another holder, or not
   * confirmed for two thirds of the TTL while Redis is unreachable): the run
   * is aborted at its next batch, so two replicas never run a job at once for long.
   */
  private keepLease(lease: Lease, controller: AbortController): NodeJS.Timeout {
    let confirmedAt = Date.now();
    const timer = setInterval(() => {
      this.locks.renew(lease, LOCK_TTL_MS).then(
        (held) => {
          if (held) confirmedAt = Date.now();
          else controller.abort(new Error('the cleanup lock was lost (it expired and another run took it)'));
        },
        () => {
          if (Date.now() - confirmedAt > (LOCK_TTL_MS * 2) / 3) controller.abort(new Error('the cleanup lock could not be renewed (Redis unreachable)'));
        },
      );
    }, RENEW_EVERY_MS);
    timer.unref();
    return timer;
  }
}

/** The error as lastError shows it: one line, no stack, no connection details. */
export function describe(error: unknown): string {
  if (isDatabaseUnavailable(error)) return DATABASE_UNAVAILABLE_MESSAGE;
  const message = error instanceof Error ? error.message : String(error);
  // Prisma prefixes its messages with the call site ("Invalid `prisma.$executeRaw()` invocation:").
  const lines = message
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !/^Invalid `.*` invocation/.test(l) && !/^→/.test(l));
  return (lines.join(' ') || (error instanceof Error ? error.name : 'unknown error')).slice(0, 500);
}
