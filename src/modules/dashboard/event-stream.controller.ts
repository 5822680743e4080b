import { Controller, Get, Headers, Query, Res } from '@nestjs/common';
import { ApiHeader, ApiOkResponse, ApiOperation, ApiProduces, ApiSecurity, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { EventStreams } from '../../infra/events/event-stream';
import { SessionsService } from '../sessions/sessions.service';
import { assertNoCursorWithoutSession, EventStreamQueryDto, resumeSequence } from './event-stream.dto';

@ApiTags('events')
@ApiSecurity('api-key')
@Controller('api/events/stream')
export class EventStreamController {
  constructor(
    private readonly sessions: SessionsService,
    private readonly streams: EventStreams,
  ) {}

  @Get()
  @ApiOperation({
    summary: "A session's events (or every session's) live, as Server-Sent Events",
    description:
      'Each frame: `id: <session>:<sequence>`, `event: <type>`, `data: <envelope>` (the body webhooks carry). A reconnect with ' +
      '`Last-Event-ID` (browsers send it by themselves) resumes after that event without gaps. A comment line every ' +
      'EVENT_STREAM_HEARTBEAT_MS (15 s) keeps idle connections open. Events appended by any replica arrive. A client that leaves ' +
      'events unread for EVENT_STREAM_SLOW_CLIENT_MS is disconnected and resumes with Last-Event-ID. ' +
      'Without `session`: every session\'s events (each session\'s in sequence order), live from the moment the stream opens; ' +
      'there is no resume across sessions (Last-Event-ID is ignored), so a client reloads what it shows whenever the stream ' +
      '(re)opens and misses nothing (the start position is taken before the response begins).',
  })
  @ApiHeader({ name: 'Last-Event-ID', required: false, description: 'Resume after this event (`<session>:<sequence>`); ignored without `session`' })
  @ApiProduces('text/event-stream')
  @ApiOkResponse({ description: 'The stream (text/event-stream), open until the client leaves', schema: { type: 'string' } })
  async stream(
    @Query() query: EventStreamQueryDto,
    @Headers('last-event-id') lastEventId: string | undefined,
    @Res() res: Response,
  ): Promise<void> {
    assertNoCursorWithoutSession(query);
    if (query.session === undefined) {
      const positions = await this.streams.allSessionsPosition();
      startStream(res);
      await this.streams.serveAll(positions, res);
      return;
    }
    const sessionId = await this.sessions.idOf(query.session);
    const after =
      lastEventId !== undefined && lastEventId !== ''
        ? resumeSequence(lastEventId, query.session)
        : (query.after ?? (await this.streams.currentSequence(sessionId)));
    startStream(res);
    await this.streams.serve(sessionId, after, res);
  }
}

/** The SSE response's head, sent at once (the client's `open`): what follows are frames. */
function startStream(res: Response): void {
  res.status(200);
  res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
  // no-transform: proxies must not compress or buffer the stream; X-Accel-Buffering: nginx likewise.
  res.setHeader('Cache-Control', 'no-store, no-transform');
  res.setHeader('X-Accel-Buffering', 'no');
  res.flushHeaders();
  res.socket?.setNoDelay(true);
}
