import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsIn, IsInt, IsNotEmpty, IsNumber, IsString, Matches, Max, MaxLength, Min } from 'class-validator';
import { Optional, ValidateNestedObject } from '../../common/validation/decorators';
import { MAX_LATENCY_MS, MAX_MEDIA_DOWNLOAD_FAILURES } from './network/faults';
import { PHONE_PATTERN } from './network/phone-number';
import { DISCONNECT_CODES, INBOUND_TYPES, type DisconnectCode, type InboundType } from './network/sandbox-network.types';

const PHONE_MESSAGE = 'must be a phone number: 5 to 20 digits, optionally with a leading +';

export class ScanDto {
  @ApiPropertyOptional({
    description: 'Phone number of the fake phone that scans (the account the session becomes a companion of). Default: a fixed 1555xxxxxxx number derived from the session name.',
    example: '5511999998888',
  })
  @Optional()
  @IsString()
  @Matches(PHONE_PATTERN, { message: `phone ${PHONE_MESSAGE}` })
  phone?: string;
}

export class InboundMediaDto {
  @ApiProperty({ description: 'The file, base64' })
  @IsString()
  @IsNotEmpty()
  @Matches(/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/, { message: 'media.data must be base64' })
  data: string;

  @ApiProperty({ example: 'image/jpeg' })
  @IsString()
  @MaxLength(255)
  mimetype: string;

  @ApiPropertyOptional({ description: 'File name (documents)', example: 'invoice.pdf' })
  @Optional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(255)
  filename?: string;
}

export class InboundLocationDto {
  @ApiProperty({ minimum: -90, maximum: 90, example: -23.5505 })
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(-90)
  @Max(90)
  latitude: number;

  @ApiProperty({ minimum: -180, maximum: 180, example: -46.6333 })
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(-180)
  @Max(180)
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

const WA_ID = /^[A-Za-z0-9_-]{1,128}$/;

export class InboundReactionDto {
  @ApiProperty({ description: 'WhatsApp id of the message reacted to (one the contact sent or received)', example: '3EB0C431C26A1916E2D1' })
  @IsString()
  @Matches(WA_ID, { message: 'reaction.waMessageId must be a WhatsApp message id' })
  waMessageId: string;

  @ApiProperty({ description: "The emoji; '' removes the contact's reaction", example: '👍' })
  @IsString()
  @MaxLength(64)
  emoji: string;
}

export class InboundEditDto {
  @ApiProperty({ description: 'WhatsApp id of a message the contact sent', example: '3EB0C431C26A1916E2D1' })
  @IsString()
  @Matches(WA_ID, { message: 'edit.waMessageId must be a WhatsApp message id' })
  waMessageId: string;

  @ApiProperty({ description: 'The new text', example: 'Hi, is my order ready? (edited)' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(65_536)
  text: string;
}

export class InboundRevokeDto {
  @ApiProperty({ description: 'WhatsApp id of a message the contact sent, deleted for everyone', example: '3EB0C431C26A1916E2D1' })
  @IsString()
  @Matches(WA_ID, { message: 'revoke.waMessageId must be a WhatsApp message id' })
  waMessageId: string;
}

export class InboundDto {
  @ApiProperty({ description: 'Name of the ZapHub session that receives the message', example: 'sales' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(64)
  session: string;

  @ApiProperty({ description: 'Phone number of the fake contact that sends it', example: '5511988887777' })
  @IsString()
  @Matches(PHONE_PATTERN, { message: `from ${PHONE_MESSAGE}` })
  from: string;

  @ApiPropertyOptional({ enum: INBOUND_TYPES, default: 'text', description: 'What the contact sends' })
  @Optional()
  @IsIn(INBOUND_TYPES, { message: `type must be one of ${INBOUND_TYPES.join(', ')}` })
  type?: InboundType;

  @ApiPropertyOptional({ description: 'Message text (type text: required)', example: 'Hi, is my order ready?' })
  @Optional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(65_536)
  text?: string;

  @ApiPropertyOptional({ type: InboundMediaDto, description: 'Media types (required): the file, encrypted and uploaded to the sandbox media server by the contact' })
  @Optional()
  @ValidateNestedObject(() => InboundMediaDto)
  media?: InboundMediaDto;

  @ApiPropertyOptional({ description: 'image, video, document: a caption', example: 'the invoice' })
  @Optional()
  @IsString()
  @MaxLength(65_536)
  caption?: string;

  @ApiPropertyOptional({ type: InboundLocationDto, description: 'type location (required)' })
  @Optional()
  @ValidateNestedObject(() => InboundLocationDto)
  location?: InboundLocationDto;

  @ApiPropertyOptional({ description: 'WhatsApp id (waMessageId) of the message this one replies to', example: '3EB0C431C26A1916E2D1' })
  @Optional()
  @IsString()
  @Matches(/^[A-Za-z0-9_-]{1,128}$/, { message: 'replyTo must be a WhatsApp message id' })
  replyTo?: string;

  @ApiPropertyOptional({ type: InboundReactionDto, description: 'type reaction (required): the contact reacts to a message' })
  @Optional()
  @ValidateNestedObject(() => InboundReactionDto)
  reaction?: InboundReactionDto;

  @ApiPropertyOptional({ type: InboundEditDto, description: 'type edit (required): the contact edits a message it sent' })
  @Optional()
  @ValidateNestedObject(() => InboundEditDto)
  edit?: InboundEditDto;

  @ApiPropertyOptional({ type: InboundRevokeDto, description: 'type revoke (required): the contact deletes a message it sent for everyone' })
  @Optional()
  @ValidateNestedObject(() => InboundRevokeDto)
  revoke?: InboundRevokeDto;
}

export class DisconnectDto {
  @ApiProperty({
    enum: DISCONNECT_CODES,
    description:
      '401 logged out (the device is unlinked) · 428 connection closed by the server · 440 replaced by another connection · 515 restart required',
    example: 428,
  })
  @IsInt()
  @IsIn(DISCONNECT_CODES, { message: `code must be one of ${DISCONNECT_CODES.join(', ')}` })
  code: DisconnectCode;
}

export class FaultsDto {
  @ApiPropertyOptional({ description: 'Delay added to every frame the network sends to a client, in ms', minimum: 0, maximum: MAX_LATENCY_MS, example: 200 })
  @Optional()
  @IsInt()
  @Min(0)
  @Max(MAX_LATENCY_MS)
  latencyMs?: number;

  @ApiPropertyOptional({ description: 'Probability (0..1) that a relayed message is dropped after the server acknowledged it', minimum: 0, maximum: 1, example: 0.1 })
  @Optional()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0)
  @Max(1)
  dropRate?: number;

  @ApiPropertyOptional({ description: 'New session connections fail at once (the TCP connection is reset)', example: false })
  @Optional()
  @IsBoolean()
  refuseConnections?: boolean;

  @ApiPropertyOptional({
    description: 'The next n media downloads from the media server (by sessions or contacts) answer 503, then it serves again',
    minimum: 0,
    maximum: MAX_MEDIA_DOWNLOAD_FAILURES,
    example: 1,
  })
  @Optional()
  @IsInt()
  @Min(0)
  @Max(MAX_MEDIA_DOWNLOAD_FAILURES)
  mediaDownloadFailures?: number;
}

export class FaultsView {
  @ApiPropertyOptional() latencyMs?: number;
  @ApiPropertyOptional() dropRate?: number;
  @ApiPropertyOptional() refuseConnections?: boolean;
  @ApiPropertyOptional({ description: 'Media downloads still to fail' }) mediaDownloadFailures?: number;
}

export class PairingResultView {
  @ApiProperty({ example: 'sales' }) session: string;
  @ApiProperty({ description: 'Phone number of the account the session is now linked to', example: '5511999998888' }) phone: string;
  @ApiProperty({ description: "The session's device JID", example: '5511999998888:1@s.whatsapp.net' }) jid: string;
  @ApiProperty({ description: "The session's device LID", example: '212345678901234:1@lid' }) lid: string;
}

export class InboundAcceptedView {
  @ApiProperty({ description: 'WhatsApp id of the message the contact sent', example: '3EB0C431C26A1916E2D1' }) waMessageId: string;
}

export class DisconnectView {
  @ApiProperty({ example: 'sales' }) session: string;
  @ApiProperty({ enum: DISCONNECT_CODES, example: 428 }) code: DisconnectCode;
}

export class ContactPresenceView {
  @ApiProperty({ description: 'Phone number of the session that sent it', example: '5511999998888' }) from: string;
  @ApiProperty({ enum: ['composing', 'paused', 'recording'] }) state: string;
  @ApiProperty({ format: 'date-time' }) at: string;
}

export class ContactMediaView {
  @ApiProperty({ nullable: true, type: String, example: 'image/jpeg' }) mimetype: string | null;
  @ApiProperty({ nullable: true, type: String, example: 'invoice.pdf' }) filename: string | null;
  @ApiProperty({ description: 'Bytes of the decrypted file', example: 48213 }) size: number;
  @ApiProperty({ description: 'SHA-256 of the decrypted file, hex' }) sha256: string;
}

export class ContactMessageView {
  @ApiProperty({ description: 'Phone number of the sender', example: '5511999998888' }) from: string;
  @ApiProperty({ nullable: true, type: String, description: 'Text, caption or reaction emoji', example: 'Your order is ready' }) text: string | null;
  @ApiProperty({ description: 'text, image, video, audio, document, sticker, location, contact, reaction, ...', example: 'text' }) type: string;
  @ApiProperty({ example: '3EB0C431C26A1916E2D1' }) waMessageId: string;
  @ApiProperty({ format: 'date-time' }) receivedAt: string;
  @ApiProperty({ description: 'How many times this id arrived (one entry per id, like a phone; a resend is a copy)', example: 1 }) copies: number;
  @ApiPropertyOptional({ description: 'The id of the message this one replies to' }) quotedId?: string;
  @ApiPropertyOptional({ description: 'A reaction: the message reacted to and the emoji', example: { waMessageId: '3EB0C431C26A1916E2D1', emoji: '👍' } })
  reaction?: { waMessageId: string; emoji: string };
  @ApiPropertyOptional({ type: ContactMediaView, description: 'A media message, once the contact downloaded and decrypted its file' })
  media?: ContactMediaView;
  @ApiPropertyOptional({ description: 'Why the contact could not download the media' }) mediaError?: string;
}
