import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsIn, IsNumber, IsString, IsUUID, Length, Matches, MaxLength } from 'class-validator';
import { ListLimitQuery, Optional, ValidateNestedObject } from '../../common/validation/decorators';
import { MESSAGE_TYPES, type MessageType } from './message-types';

export const MAX_TEXT_LENGTH = 65_536;

export class MessageMediaDto {
  @ApiPropertyOptional({ description: 'An absolute http(s) URL ZapHub fetches (private addresses refused)', example: 'https://example.com/photo.jpg' })
  @Optional()
  @IsString()
  @MaxLength(2048)
  url?: string;

  @ApiPropertyOptional({ description: 'The file itself, base64' })
  @Optional()
  @IsString()
  data?: string;
}

export class MessageLocationDto {
  @ApiProperty({ minimum: -90, maximum: 90, example: -23.5505 })
  @IsNumber({ allowNaN: false, allowInfinity: false })
  latitude: number;

  @ApiProperty({ minimum: -180, maximum: 180, example: -46.6333 })
  @IsNumber({ allowNaN: false, allowInfinity: false })
  longitude: number;

  @ApiPropertyOptional({ example: 'Praça da Sé' })
  @Optional()
  @IsString()
  @MaxLength(1024)
  name?: string;

  @ApiPropertyOptional({ example: 'São Paulo, SP' })
  @Optional()
  @IsString()
  @MaxLength(1024)
  address?: string;
}

export class MessageContactDto {
  @ApiProperty({ example: 'Maria Silva' })
  @IsString()
  @Length(1, 256)
  name: string;

  @ApiProperty({ example: '+55 11 99999-8888', description: 'An international phone number (the vCard is built from name and phone)' })
  @IsString()
  @MaxLength(64)
  phone: string;
}

export class MessageReactionDto {
  @ApiProperty({ format: 'uuid', description: 'The ZapHub id of the message reacted to (of the same session and chat)' })
  @IsUUID('all', { message: 'reaction.messageId must be a ZapHub message id (a UUID)' })
  messageId: string;

  @ApiProperty({ example: '👍', description: 'One emoji; an empty string removes the reaction' })
  @IsString()
  @MaxLength(32)
  emoji: string;
}

/**
 * The body of POST /api/sessions/:name/messages. The shape of each field is
 * checked here; which fields each type needs (and allows) is checked by
 * message-request.ts, so every bad field is named in one 400.
 */
export class SendMessageDto {
  @ApiProperty({ example: '5511999998888', description: 'A phone number (+55 11 99999-8888 works too) or a JID: <digits>@s.whatsapp.net, <id>@g.us, <id>@lid' })
  @IsString()
  @MaxLength(128)
  to: string;

  @ApiProperty({ enum: MESSAGE_TYPES })
  @IsIn(MESSAGE_TYPES, { message: `type must be one of ${MESSAGE_TYPES.join(', ')}` })
  type: MessageType;

  @ApiPropertyOptional({ description: `The text (type text, required, at most ${MAX_TEXT_LENGTH} characters) or a media caption` })
  @Optional()
  @IsString()
  text?: string;

  @ApiPropertyOptional({ type: MessageMediaDto, description: 'Media types: {url} or {data} (base64)' })
  @Optional()
  @ValidateNestedObject(() => MessageMediaDto)
  media?: MessageMediaDto;

  @ApiPropertyOptional({ example: 'image/jpeg' })
  @Optional()
  @IsString()
  @MaxLength(255)
  mimetype?: string;

  @ApiPropertyOptional({ example: 'report.pdf' })
  @Optional()
  @IsString()
  @MaxLength(255)
  filename?: string;

  @ApiPropertyOptional({ description: 'Audio only: send as a voice note' })
  @Optional()
  @IsBoolean()
  ptt?: boolean;

  @ApiPropertyOptional({ type: MessageLocationDto })
  @Optional()
  @ValidateNestedObject(() => MessageLocationDto)
  location?: MessageLocationDto;

  @ApiPropertyOptional({ type: MessageContactDto })
  @Optional()
  @ValidateNestedObject(() => MessageContactDto)
  contact?: MessageContactDto;

  @ApiPropertyOptional({ type: MessageReactionDto })
  @Optional()
  @ValidateNestedObject(() => MessageReactionDto)
  reaction?: MessageReactionDto;

  @ApiPropertyOptional({ format: 'uuid', description: 'The ZapHub id of a message of the same session to quote' })
  @Optional()
  @IsUUID('all', { message: 'replyTo must be a ZapHub message id (a UUID)' })
  replyTo?: string;
}

export class MessageIdParam {
  @ApiProperty({ description: 'The message id', format: 'uuid' })
  @IsUUID('all', { message: 'id must be a message id (a UUID)' })
  id: string;
}

export const MESSAGE_STATUSES = ['QUEUED', 'SENDING', 'SENT', 'DELIVERED', 'READ', 'FAILED', 'EXPIRED', 'CANCELED', 'RECEIVED'] as const;
export type MessageStatus = (typeof MESSAGE_STATUSES)[number];
export const MESSAGE_DIRECTIONS = ['outbound', 'inbound'] as const;
export type MessageDirection = (typeof MESSAGE_DIRECTIONS)[number];

export class MessagesQueryDto {
  @ApiPropertyOptional({ description: 'Only this chat (a phone number or JID, normalized like `to`)' })
  @Optional()
  @IsString()
  @MaxLength(128)
  chatId?: string;

  @ApiPropertyOptional({ enum: MESSAGE_DIRECTIONS })
  @Optional()
  @IsIn(MESSAGE_DIRECTIONS, { message: `direction must be one of ${MESSAGE_DIRECTIONS.join(', ')}` })
  direction?: MessageDirection;

  @ApiPropertyOptional({ enum: MESSAGE_STATUSES })
  @Optional()
  @IsIn(MESSAGE_STATUSES, { message: `status must be one of ${MESSAGE_STATUSES.join(', ')}` })
  status?: MessageStatus;

  @ApiPropertyOptional({ default: 50, minimum: 1, maximum: 1000 })
  @ListLimitQuery()
  limit?: number;

  @ApiPropertyOptional({ description: 'nextCursor of the previous page' })
  @Optional()
  @MaxLength(20)
  @Matches(/^[1-9][0-9]*$/, { message: 'cursor must be the nextCursor of a previous page' })
  cursor?: string;
}

export class MessageView {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ example: 'sales-1' }) session: string;
  @ApiProperty({ example: '5511999998888@s.whatsapp.net' }) chatId: string;
  @ApiProperty({ enum: MESSAGE_DIRECTIONS }) direction: MessageDirection;
  @ApiProperty({ enum: MESSAGE_TYPES }) type: string;
  @ApiProperty({ enum: MESSAGE_STATUSES }) status: MessageStatus;
  @ApiProperty({ nullable: true, type: String }) text: string | null;
  @ApiProperty({ description: 'Send attempts so far' }) attempts: number;
  @ApiProperty({ nullable: true, type: String, description: 'Why the last attempt failed, or "Message expired"' }) error: string | null;
  @ApiProperty({ nullable: true, type: String, description: "WhatsApp's id, once sent (derived from id: a resend carries the same)" }) waMessageId: string | null;
  @ApiProperty() createdAt: string;
  @ApiProperty({ nullable: true, type: String }) sentAt: string | null;
  @ApiProperty({ nullable: true, type: String }) deliveredAt: string | null;
  @ApiProperty({ nullable: true, type: String }) readAt: string | null;
  @ApiPropertyOptional({ description: 'When the author edited it (text is the edited one); absent when never edited', example: '2026-12-06T03:50:00.000Z' })
  editedAt?: string;
  @ApiPropertyOptional({ description: 'Present (true) when the author deleted it for everyone; the text stays', example: true })
  revoked?: boolean;
  @ApiPropertyOptional({ description: 'When it was deleted for everyone' })
  revokedAt?: string;
  @ApiPropertyOptional({ type: () => [MessageReactionView], description: 'Reactions, one per reactor (latest wins); absent when none' })
  reactions?: MessageReactionView[];
  @ApiPropertyOptional({ type: () => [MessageReceiptView], description: 'GET /api/messages/:id of an outbound group message: receipts per group member' })
  receipts?: MessageReceiptView[];
}

export class MessageReactionView {
  @ApiProperty({ nullable: true, type: String, description: "Reactor's phone (or JID when WhatsApp hides it); null: the account itself, from its phone", example: '5511988887777' })
  from: string | null;
  @ApiProperty({ example: '👍' }) emoji: string;
  @ApiProperty({ description: 'When WhatsApp says it was sent' }) at: string;
}

export class MessageReceiptView {
  @ApiProperty({ description: "The member's JID", example: '5511988887777@s.whatsapp.net' }) participant: string;
  @ApiProperty({ enum: ['DELIVERED', 'READ'] }) status: 'DELIVERED' | 'READ';
  @ApiProperty() at: string;
}

export class MessagePageView {
  @ApiProperty({ type: [MessageView] }) items: MessageView[];
  @ApiProperty({ nullable: true, type: String, description: 'Pass as `cursor` for the next (older) page; null on the last page' }) nextCursor: string | null;
}
