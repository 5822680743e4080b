import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { ValidationError } from '../../common/errors/domain-errors';
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
    if (query.last !== undefined && (query.after !== undefined || query.limit !== undefined)) {
      throw new ValidationError('Invalid query', [{ field: 'last', message: 'not with after or limit' }]);
    }
    const sessionId = await this.sessions.idOf(params.name);
    if (query.last !== undefined) {
      // Sequences rise by exactly one per event, so the last N start right after last sequence − N.
      const lastSequence = await this.log.lastSequence(sessionId);
      return this.log.page(sessionId, Math.max(0, lastSequence - query.last), query.last);
    }
    return this.log.page(sessionId, query.after ?? 0, query.limit ?? 50);
  }
}
