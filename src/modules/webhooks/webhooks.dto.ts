import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsIn, IsString, IsUUID, Matches, MaxLength, registerDecorator, type ValidationArguments } from 'class-validator';
import { Optional } from '../../common/validation/decorators';
import { SESSION_NAME_PATTERN } from '../sessions/sessions.dto';
import { OUTBOUND_URL_MAX_LENGTH, urlShapeProblem } from '../../infra/outbound-url/outbound-url-guard';
import { ALL_EVENTS, WEBHOOK_EVENT_FILTER_VALUES, WEBHOOK_EVENT_TYPES } from './webhook-events';
import { isWebhookSecret, WEBHOOK_SECRET_RULE } from './webhook-secret';

/** The URL's shape (http/https, a host, no credentials); the address check (DNS) runs in the service. */
function IsWebhookUrl(): PropertyDecorator {
  return (target, propertyKey) =>
    registerDecorator({
      name: 'isWebhookUrl',
      target: target.constructor,
      propertyName: String(propertyKey),
      validator: {
        validate: (value: unknown) => typeof value === 'string' && urlShapeProblem(value) === null,
        defaultMessage: ({ property, value }: ValidationArguments) =>
          `${property} ${typeof value === 'string' ? urlShapeProblem(value) : 'must be a string'}`,
      },
    });
}

function IsWebhookSecret(): PropertyDecorator {
  return (target, propertyKey) =>
    registerDecorator({
      name: 'isWebhookSecret',
      target: target.constructor,
      propertyName: String(propertyKey),
      validator: {
        validate: (value: unknown) => isWebhookSecret(value),
        // Never echoes the value: it is a secret.
        defaultMessage: ({ property }: ValidationArguments) => `${property} must be ${WEBHOOK_SECRET_RULE}`,
      },
    });
}

const EVENTS_DESCRIPTION =
  `Event types this endpoint receives: ["*"] (every event, the default) or a list of ${WEBHOOK_EVENT_TYPES.join(', ')}. ` +
  'Duplicates are dropped; a list containing "*" is stored as ["*"].';
const SECRET_DESCRIPTION =
  `Signing secret, ${WEBHOOK_SECRET_RULE}. Generated (whsec_ + base64 of 32 random bytes) when omitted. ` +
  'Returned only in this response, never again: store it.';

export class CreateWebhookDto {
  @ApiProperty({
    example: 'https://example.com/zaphub',
    maxLength: OUTBOUND_URL_MAX_LENGTH,
    description:
      'Absolute http(s) URL without credentials. Refused (400) when its host is, or resolves to, a loopback, private, link-local, ' +
      'CGNAT, multicast, unspecified, reserved or cloud-metadata address (IPv4 or IPv6, IPv4-mapped included) or cannot be resolved, ' +
      'unless WEBHOOK_ALLOW_PRIVATE=true. Deliveries check the address again when they connect.',
  })
  @IsString()
  @MaxLength(OUTBOUND_URL_MAX_LENGTH)
  @IsWebhookUrl()
  url: string;

  @ApiPropertyOptional({ type: [String], enum: WEBHOOK_EVENT_FILTER_VALUES, default: [ALL_EVENTS], description: EVENTS_DESCRIPTION })
  @Optional()
  @IsArray()
  @ArrayMinSize(1, { message: 'events must contain at least one event type (["*"] for all)' })
  @ArrayMaxSize(WEBHOOK_EVENT_FILTER_VALUES.length * 2)
  @IsString({ each: true })
  @IsIn(WEBHOOK_EVENT_FILTER_VALUES, { each: true, message: `each value in events must be one of ${WEBHOOK_EVENT_FILTER_VALUES.join(', ')}` })
  events?: string[];

  @ApiPropertyOptional({ example: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', description: SECRET_DESCRIPTION })
  @Optional()
  @IsString()
  @IsWebhookSecret()
  secret?: string;
}

export class RotateWebhookSecretDto {
  @ApiPropertyOptional({
    description: `The new secret, ${WEBHOOK_SECRET_RULE}; generated when omitted (the usual way). Returned only in this response.`,
  })
  @Optional()
  @IsString()
  @IsWebhookSecret()
  secret?: string;
}

export class UpdateWebhookDto {
  @ApiProperty({
    enum: ['ACTIVE', 'DISABLED'],
    description: 'ACTIVE re-enables an endpoint (for example one disabled by a 410 answer); DISABLED stops deliveries to it. ' +
      'Deliveries that failed meanwhile are listed as FAILED and can be redelivered.',
  })
  @IsIn(['ACTIVE', 'DISABLED'], { message: 'status must be one of ACTIVE, DISABLED' })
  status: 'ACTIVE' | 'DISABLED';
}

export class WebhookIdParam {
  @ApiProperty({ description: 'The webhook id', format: 'uuid' })
  @IsUUID('all', { message: 'id must be a webhook id (a UUID)' })
  id: string;
}

export class SessionWebhookParams {
  @ApiProperty({ description: 'The session name', pattern: '^[A-Za-z0-9_-]{1,64}$', example: 'sales' })
  @Matches(SESSION_NAME_PATTERN, { message: 'name must match ^[A-Za-z0-9_-]{1,64}$' })
  name: string;

  @ApiProperty({ description: 'The webhook id', format: 'uuid' })
  @IsUUID('all', { message: 'id must be a webhook id (a UUID)' })
  id: string;
}

/** A webhook endpoint as the API shows it. Never carries a secret. */
export class WebhookView {
  @ApiProperty({ example: '0b6f4a52-6c4e-4f7e-9d0a-3c2b1a0f9e8d' }) id: string;
  @ApiProperty({ example: 'https://example.com/zaphub' }) url: string;
  @ApiProperty({ type: [String], example: ['*'], description: '["*"] or the event types delivered' }) events: string[];
  @ApiProperty({ enum: ['ACTIVE', 'DISABLED'], description: 'DISABLED endpoints receive nothing (set when the receiver answers 410)' })
  status: 'ACTIVE' | 'DISABLED';
  @ApiProperty({ example: '2026-12-01T12:00:00.000Z' }) createdAt: string;
  @ApiProperty({ nullable: true, type: String, example: 'sales-1', description: "The session whose events it receives; null for a global endpoint (every session's)" })
  session: string | null;
  @ApiProperty({
    enum: ['api', 'env', 'config'],
    description:
      'api: created through these routes; env: the global endpoint defined by WEBHOOK_URL (change it there); config: declared in the ' +
      "session's config.webhooks (change it with PATCH /api/sessions/:name). env and config endpoints cannot be deleted through these routes.",
  })
  source: 'api' | 'env' | 'config';
  @ApiProperty({ nullable: true, type: String, example: null, description: 'When the secret was last rotated' })
  secretRotatedAt: string | null;
  @ApiProperty({
    nullable: true,
    type: String,
    example: null,
    description: 'Until when the secret replaced by the last rotation still signs too (a second v1, signature); null when it no longer does',
  })
  previousSecretExpiresAt: string | null;
}

/** 201 of a creation: the webhook and its secret, shown this once. */
export class CreatedWebhookView extends WebhookView {
  @ApiProperty({ example: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', description: 'The signing secret: shown only in this response' })
  secret: string;
}

export class RotatedSecretView {
  @ApiProperty({
    example: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
    description: 'The new signing secret (shown only here). The old one also signs until previousSecretExpiresAt (WEBHOOK_SECRET_OVERLAP_HOURS).',
  })
  secret: string;
  @ApiProperty({ nullable: true, type: String, description: 'Until when the old secret also signs; null with WEBHOOK_SECRET_OVERLAP_HOURS=0' })
  previousSecretExpiresAt: string | null;
}
