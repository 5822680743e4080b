import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { NotFoundError } from '../../common/errors/domain-errors';
import { ALL_QUEUES, isQueueName, type QueueName } from '../../infra/queues/queue-catalogue';
import { QueuesService, type FailedJobView, type QueueCounts } from '../../infra/queues/queues.service';
import { CleanQueueDto, FailedJobsQueryDto, QueueCountsView } from './queues-admin.dto';

@ApiTags('queues')
@ApiSecurity('api-key')
@Controller('api/queues')
export class QueuesAdminController {
  constructor(private readonly queues: QueuesService) {}

  @Get()
  @ApiOperation({ summary: 'Job counts of every queue' })
  @ApiOkResponse({ type: [QueueCountsView] })
  list(): Promise<QueueCounts[]> {
    return this.queues.counts();
  }

  @Get(':name/failed')
  @ApiOperation({ summary: 'Most recent failed jobs of one queue' })
  failed(@Param('name') name: string, @Query() query: FailedJobsQueryDto): Promise<FailedJobView[]> {
    return this.queues.failed(this.known(name), query.limit ?? 50);
  }

  @Post('pause')
  @HttpCode(200)
  @ApiOperation({ summary: 'Pause every queue on every replica (active jobs finish)' })
  async pause(): Promise<{ paused: true }> {
    await this.queues.pauseAll();
    return { paused: true };
  }

  @Post('resume')
  @HttpCode(200)
  @ApiOperation({ summary: 'Resume every queue' })
  async resume(): Promise<{ paused: false }> {
    await this.queues.resumeAll();
    return { paused: false };
  }

  @Post(':name/clean')
  @HttpCode(200)
  @ApiOperation({ summary: 'Remove completed or failed jobs older than olderThanMs' })
  async clean(@Param('name') name: string, @Body() body: CleanQueueDto): Promise<{ removed: number }> {
    return { removed: await this.queues.clean(this.known(name), body.olderThanMs, body.state) };
  }

  private known(name: string): QueueName {
    if (!isQueueName(name)) throw new NotFoundError(`Unknown queue "${name}"; known queues: ${ALL_QUEUES.join(', ')}`);
    return name;
  }
}
