import { Controller, Get, HttpCode, Inject, Logger, Param, Post } from '@nestjs/common';
import { ApiAcceptedResponse, ApiConflictResponse, ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiParam, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { ConflictError, NotFoundError, ServiceUnavailableError } from '../../common/errors/domain-errors';
import { APP_CONFIG, type AppConfig } from '../../config';
import { CLEANUP_JOBS, cronOf, isCleanupJob, type CleanupJob } from './cleanup-jobs';
import { CleanupRunner } from './cleanup-runner';
import { CleanupState } from './cleanup-state';
import { CleanupJobView } from './cleanup.dto';
import { nextRunAt } from './next-run';

const UNAVAILABLE = 'Redis is unavailable: the cleanup state and locks live there, try again shortly';

@ApiTags('cleanup')
@ApiSecurity('api-key')
@Controller('api/cleanup')
export class CleanupController {
  private readonly logger = new Logger('Cleanup');

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly runner: CleanupRunner,
    private readonly state: CleanupState,
  ) {}

  @Get()
  @ApiOperation({
    summary: 'The cleanup jobs: last run, last success, rows, last error and next run of each',
    description: 'The same answer on every replica: the outcome of each run is kept in Redis.',
  })
  @ApiOkResponse({ type: [CleanupJobView] })
  async list(): Promise<CleanupJobView[]> {
    const [states, running] = await Promise.all([this.state.readAll(), this.runner.running(CLEANUP_JOBS)]).catch((error: unknown) => this.unavailable(error));
    const now = new Date();
    return CLEANUP_JOBS.map((job, i) => {
      const s = states[job];
      return {
        job,
        lastRunAt: s.lastRunAt?.toISOString() ?? null,
        lastSuccessAt: s.lastSuccessAt?.toISOString() ?? null,
        lastRows: s.lastRows,
        lastError: s.lastError,
        nextRunAt: nextRunAt(cronOf(this.config, job), now).toISOString(),
        running: running[i] ?? false,
        lastDurationMs: s.lastDurationMs,
        lastRunBy: s.lastRunBy,
      };
    });
  }

  @Post(':job/run')
  @HttpCode(202)
  @ApiOperation({
    summary: 'Run a cleanup job now (in the background, under the same lock as its cron)',
    description: 'Poll GET /api/cleanup for the outcome. 409 while a run of the job holds its lock (on any replica).',
  })
  @ApiParam({ name: 'job', enum: CLEANUP_JOBS })
  @ApiAcceptedResponse({ description: 'The run started', schema: { properties: { job: { type: 'string' }, started: { type: 'boolean', example: true } } } })
  @ApiNotFoundResponse({ description: 'Unknown job' })
  @ApiConflictResponse({ description: 'The job is running right now' })
  async run(@Param('job') job: string): Promise<{ job: CleanupJob; started: true }> {
    if (!isCleanupJob(job)) throw new NotFoundError(`Unknown cleanup job "${job}"; known jobs: ${CLEANUP_JOBS.join(', ')}`);
    const outcome = await this.runner.start(job).catch((error: unknown) => this.unavailable(error));
    if (outcome === 'busy') throw new ConflictError(`The cleanup job "${job}" is running right now; try again when it is done`);
    return { job, started: true };
  }

  private unavailable(error: unknown): never {
    if (error instanceof ServiceUnavailableError) throw error;
    this.logger.warn({ err: error }, 'cleanup route: Redis unavailable');
    throw new ServiceUnavailableError(UNAVAILABLE);
  }
}
