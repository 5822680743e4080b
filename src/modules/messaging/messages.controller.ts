import { Body, Controller, Delete, Get, Headers, HttpCode, Param, Post, Query } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiHeader,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiSecurity,
  ApiServiceUnavailableResponse,
  ApiTags,
  ApiUnprocessableEntityResponse,
} from '@nestjs/swagger';
import { ValidationError } from '../../common/errors/domain-errors';
import { SessionNameParam } from '../sessions/sessions.dto';
import { MessageIdParam, MessagePageView, MessagesQueryDto, MessageView, SendMessageDto } from './messages.dto';
import { MessagesService } from './messages.service';

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

/** Sending messages through a session, and reading them back. */
@ApiTags('messages')
@ApiSecurity('api-key')
@Controller('api')
export class MessagesController {
  constructor(private readonly messages: MessagesService) {}

  @Post('sessions/:name/messages')
  @HttpCode(202)
  @ApiOperation({
    summary: 'Queue a message',
    description:
      'Accepted durably (committed before the answer: a crash afterwards never loses it), then sent by the session\'s owner, ' +
      'in acceptance order per chat. Accepted while the session is not WORKING: it leaves once the session works. ' +
      'With an Idempotency-Key, a repeat of the same body within 24 h answers the first response and creates nothing; another body, 422. ' +
      'Types available in this version: text, location, contact, reaction (media types follow).',
  })
  @ApiHeader({ name: 'Idempotency-Key', required: false, description: '1-255 printable ASCII characters, kept 24 h per session' })
  @ApiAcceptedResponse({ type: MessageView, description: 'The message, QUEUED' })
  @ApiBadRequestResponse({ description: 'Invalid body (each bad field named), or a bad Idempotency-Key' })
  @ApiNotFoundResponse({ description: 'Unknown session' })
  @ApiUnprocessableEntityResponse({ description: 'The Idempotency-Key was used with a different body' })
  @ApiServiceUnavailableResponse({ description: 'PostgreSQL is unavailable (Retry-After)' })
  send(@Param() { name }: SessionNameParam, @Body() body: SendMessageDto, @Headers('idempotency-key') key: string | undefined): Promise<MessageView> {
    if (key !== undefined && !IDEMPOTENCY_KEY.test(key)) {
      throw new ValidationError('Invalid Idempotency-Key', [{ field: 'Idempotency-Key', message: 'Idempotency-Key must be 1-255 printable ASCII characters' }]);
    }
    return this.messages.send(name, body, key);
  }

  @Get('sessions/:name/messages')
  @ApiOperation({ summary: "A session's messages, newest first", description: 'Filter by chatId, direction and status; page with cursor.' })
  @ApiOkResponse({ type: MessagePageView })
  @ApiBadRequestResponse({ description: 'A bad filter, limit or cursor (each named)' })
  @ApiNotFoundResponse({ description: 'Unknown session' })
  list(@Param() { name }: SessionNameParam, @Query() query: MessagesQueryDto): Promise<MessagePageView> {
    return this.messages.list(name, query);
  }

  @Get('messages/:id')
  @ApiOperation({ summary: 'One message' })
  @ApiOkResponse({ type: MessageView })
  @ApiBadRequestResponse({ description: 'id is not a UUID' })
  @ApiNotFoundResponse({ description: 'Unknown message' })
  get(@Param() { id }: MessageIdParam): Promise<MessageView> {
    return this.messages.get(id);
  }

  @Post('messages/:id/retry')
  @HttpCode(202)
  @ApiOperation({ summary: 'Send a FAILED or EXPIRED message again', description: 'Back to QUEUED with its attempts from zero, at the end of its chat\'s queue.' })
  @ApiAcceptedResponse({ type: MessageView })
  @ApiBadRequestResponse({ description: 'id is not a UUID' })
  @ApiNotFoundResponse({ description: 'Unknown message' })
  @ApiConflictResponse({ description: 'The message is not FAILED or EXPIRED' })
  retry(@Param() { id }: MessageIdParam): Promise<MessageView> {
    return this.messages.retry(id);
  }

  @Delete('messages/:id')
  @ApiOperation({ summary: 'Cancel a QUEUED message' })
  @ApiOkResponse({ type: MessageView, description: 'The message, CANCELED' })
  @ApiBadRequestResponse({ description: 'id is not a UUID' })
  @ApiNotFoundResponse({ description: 'Unknown message' })
  @ApiConflictResponse({ description: 'The message is not QUEUED (or is being sent right now)' })
  cancel(@Param() { id }: MessageIdParam): Promise<MessageView> {
    return this.messages.cancel(id);
  }
}
