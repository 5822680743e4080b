import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsInt, IsString, Matches, Min } from 'class-validator';
import { ValidationError } from '../../common/errors/domain-errors';
import { IntegerQuery, Optional } from '../../common/validation/decorators';

const SESSION_NAME = /^[A-Za-z0-9_-]{1,64}$/;

export class EventStreamQueryDto {
  @ApiPropertyOptional({
    example: 'sales-1',
    description:
      'The session whose events to stream. Without it: every session\'s events, live from the moment the stream opens ' +
      '(no resume: Last-Event-ID is ignored and `after` refused; reload what you show when the stream (re)opens)',
  })
  @Optional()
  @IsString()
  @Matches(SESSION_NAME, { message: 'session must match ^[A-Za-z0-9_-]{1,64}$' })
  session?: string;

  @ApiPropertyOptional({
    minimum: 0,
    description:
      'Start after this sequence of the session (0: the whole kept history; only with `session`). Without it and without Last-Event-ID the stream starts with the next event. ' +
      'Last-Event-ID, when sent (as browsers do on a reconnect), takes precedence',
  })
  @Optional()
  @IntegerQuery()
  @IsInt()
  @Min(0)
  after?: number;
}

/**
 * The sequence a `Last-Event-ID` (`<session>:<sequence>`, the `id:` of the
 * frames) resumes after. It must name the streamed session: an id of another
 * session would silently skip or repeat events, so it is a 400.
 */
export function resumeSequence(lastEventId: string, session: string): number {
  const m = /^([A-Za-z0-9_-]{1,64}):(\d{1,10})$/.exec(lastEventId.trim());
  if (!m || m[1] !== session || Number(m[2]) > 2 ** 31 - 1) {
    throw new ValidationError('Invalid Last-Event-ID', [{ field: 'Last-Event-ID', message: `must be ${session}:<sequence> (the id of an event of this stream)` }]);
  }
  return Number(m[2]);
}

/** `after` is a sequence of one session: across sessions it means nothing, so it is refused rather than ignored. */
export function assertNoCursorWithoutSession(query: EventStreamQueryDto): void {
  if (query.session === undefined && query.after !== undefined) {
    throw new ValidationError('Invalid query', [{ field: 'after', message: 'needs session (a sequence is per session)' }]);
  }
}
