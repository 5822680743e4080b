import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { EventLog } from '../../infra/events/event-log';
import { SessionNameParam } from '../sessions/sessions.dto';
import { SessionsService } from '../sessions/sessions.service';
import { EventPageView, SessionEventsQueryDto } from './session-events.dto';

@ApiTags('events')
@ApiSecurity('api-key')
@Controller('api/sessions/:name/events')
export class SessionEventsController {
  constructor(
    private readonly sessions: SessionsService,
    private readonly log: EventLog,
  ) {}

  @Get()
  @ApiOperation({
    summary:
      "The session's events in sequence order (the envelopes webhooks carry), kept HISTORY_RETENTION_DAYS: catch up after downtime by passing the last sequence you processed as `after`",
  })
  @ApiOkResponse({ type: EventPageView })
  async list(@Param() params: SessionNameParam, @Query() query: SessionEventsQueryDto): Promise<EventPageView> {
    const sessionId = await this.sessions.idOf(params.name);
    return this.log.page(sessionId, query.after ?? 0, query.limit ?? 50);
  }
}
