import { ApiProperty } from '@nestjs/swagger';
import { IsIn, IsInt, Min } from 'class-validator';
import { ListLimitQuery } from '../../common/validation/decorators';

export class CleanQueueDto {
  @ApiProperty({ description: 'Remove jobs that finished more than this many milliseconds ago', example: 3600000, minimum: 0 })
  @IsInt()
  @Min(0)
  olderThanMs: number;

  @ApiProperty({ enum: ['completed', 'failed'] })
  @IsIn(['completed', 'failed'])
  state: 'completed' | 'failed';
}

export class FailedJobsQueryDto {
  @ApiProperty({ required: false, default: 50, minimum: 1, maximum: 1000 })
  @ListLimitQuery()
  limit?: number;
}

export class QueueCountsView {
  @ApiProperty() name: string;
  @ApiProperty() waiting: number;
  @ApiProperty() active: number;
  @ApiProperty() delayed: number;
  @ApiProperty() completed: number;
  @ApiProperty() failed: number;
  @ApiProperty() paused: boolean;
}
