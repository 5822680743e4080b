import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsInt, Max, Min } from 'class-validator';
import { IntegerQuery, ListLimitQuery, Optional } from '../../common/validation/decorators';

export class SessionEventsQueryDto {
  @ApiPropertyOptional({ default: 0, minimum: 0, description: 'Return events with a sequence above this one (0: from the start of the kept history)' })
  @Optional()
  @IntegerQuery()
  @IsInt()
  @Min(0)
  after?: number;

  @ApiPropertyOptional({ default: 50, minimum: 1, maximum: 1000 })
  @ListLimitQuery()
  limit?: number;

  @ApiPropertyOptional({
    minimum: 1,
    maximum: 1000,
    description:
      'Instead of `after`: the session\'s last `last` events (fewer when older ones were pruned), in sequence order; ' +
      '`nextAfter` is where to go on from (a live stream\'s `after`; null: nothing kept, go on from 0). Not with `after` or `limit`',
  })
  @Optional()
  @IntegerQuery()
  @IsInt()
  @Min(1)
  @Max(1000)
  last?: number;
}

/** The envelope every consumer gets (webhook bodies, this route, the live stream). */
export class EventView {
  @ApiProperty({ example: 'evt_3f0c9a1e5b7d4c2a9e8f7a6b5c4d3e2f' }) id: string;
  @ApiProperty({ example: 'session.status' }) event: string;
  @ApiProperty({ example: 'sales-1' }) session: string;
  @ApiProperty({ example: 7, description: 'Starts at 1 and rises by exactly one per event of the session' }) sequence: number;
  @ApiProperty({ example: '2026-12-01T12:00:00.000Z' }) timestamp: string;
  @ApiProperty({ example: { status: 'WORKING', previous: 'STARTING', lastError: null } }) data: Record<string, unknown>;
}

export class EventPageView {
  @ApiProperty({ type: [EventView] }) items: EventView[];
  @ApiProperty({ nullable: true, type: Number, description: 'Sequence of the last item: pass it as `after` to go on (now or later); null when the page is empty' })
  nextAfter: number | null;
}
