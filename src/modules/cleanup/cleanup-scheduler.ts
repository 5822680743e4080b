import { Inject, Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { CronJob } from 'cron';
import { APP_CONFIG, type AppConfig } from '../../config';
import { CLEANUP_JOBS, cronOf, type CleanupJob } from './cleanup-jobs';
import { CleanupRunner } from './cleanup-runner';
import { CLEANUP_TIME_ZONE } from './next-run';

/**
 * The cleanup crons (worker and all roles): one @nestjs/schedule cron job per
 * cleanup job, from the environment's schedules. Every worker ticks; the
 * runner's lock lets one replica run a job while the others skip that tick.
 * `expire-pending` also runs once when the application has booted (the
 * contract: within a minute of boot); that run is tracked like any other
 * (awaited at shutdown, its failure recorded), not left floating.
 */
@Injectable()
export class CleanupScheduler implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('Cleanup');
  private readonly jobs: CronJob[] = [];
  private bootRun: Promise<void> | null = null;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly registry: SchedulerRegistry,
    private readonly runner: CleanupRunner,
  ) {}

  onApplicationBootstrap(): void {
    for (const job of CLEANUP_JOBS) {
      const cron = CronJob.from({
        cronTime: cronOf(this.config, job),
        timeZone: CLEANUP_TIME_ZONE,
        // The tick's promise never rejects (the runner records failures); a tick waits for the previous one.
        onTick: () => this.tick(job),
        waitForCompletion: true,
        start: false,
      });
      this.registry.addCronJob(`cleanup-${job}`, cron as unknown as Parameters<SchedulerRegistry['addCronJob']>[1]);
      cron.start();
      this.jobs.push(cron);
    }
    this.logger.log({ schedules: Object.fromEntries(CLEANUP_JOBS.map((job) => [job, cronOf(this.config, job)])) }, 'cleanup crons scheduled (UTC)');
    this.bootRun = this.tick('expire-pending', 'boot');
  }

  async beforeApplicationShutdown(): Promise<void> {
    for (const cron of this.jobs) await cron.stop();
    // The runner stops a run in progress between batches (its own shutdown hook): this waits for that.
    await this.bootRun;
  }

  /** Never rejects: the runner records a run's failure; anything else is logged here. */
  private async tick(job: CleanupJob, trigger: 'cron' | 'boot' = 'cron'): Promise<void> {
    await this.runner.runScheduled(job, trigger).catch((error: unknown) => this.logger.error({ err: error, job, trigger }, 'cleanup tick failed'));
  }
}
