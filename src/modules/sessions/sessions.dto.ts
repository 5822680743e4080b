import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  ArrayMaxSize,
  IsArray,
  IsBoolean,
  IsInt,
  IsString,
  IsUrl,
  Length,
  Matches,
  Max,
  Min,
  registerDecorator,
  type ValidationArguments,
} from 'class-validator';
import { IsInternationalPhone, Optional, ValidateNestedArray, ValidateNestedObject } from '../../common/validation/decorators';
import { PHONE_MAX_DIGITS, PHONE_MIN_DIGITS } from '../../common/validation/phone-number';

export const SESSION_NAME_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * minTypingMs must not exceed maxTypingMs when both are in the body. The
 * effective config (stored values and env defaults included) is checked by
 * session-config.ts, which the service applies on create and PATCH.
 */
function MinNotAboveMax(): PropertyDecorator {
  return (target, propertyKey) =>
    registerDecorator({
      name: 'minNotAboveMax',
      target: target.constructor,
      propertyName: String(propertyKey),
      validator: {
        validate(value: unknown, args: ValidationArguments) {
          const max = (args.object as HumanizeDto).maxTypingMs;
          return typeof value !== 'number' || typeof max !== 'number' || value <= max;
        },
        defaultMessage: (args: ValidationArguments) =>
          `minTypingMs (${String(args.value)}) must be less than or equal to maxTypingMs (${String((args.object as HumanizeDto).maxTypingMs)})`,
      },
    });
}

export class HumanizeDto {
  @ApiPropertyOptional({ default: true, description: 'Show "typing..." before each message, in proportion to its length' })
  @Optional()
  @IsBoolean()
  enabled?: boolean;

  @ApiPropertyOptional({ default: 40, minimum: 0 })
  @Optional()
  @IsInt()
  @Min(0)
  @Max(600000)
  typingMsPerChar?: number;

  @ApiPropertyOptional({ default: 800, minimum: 0 })
  @Optional()
  @IsInt()
  @Min(0)
  @Max(600000)
  @MinNotAboveMax()
  minTypingMs?: number;

  @ApiPropertyOptional({ default: 6000, minimum: 0 })
  @Optional()
  @IsInt()
  @Min(0)
  @Max(600000)
  maxTypingMs?: number;

  @ApiPropertyOptional({ default: 1000, minimum: 0, description: 'Pause between two messages to the same chat' })
  @Optional()
  @IsInt()
  @Min(0)
  @Max(600000)
  chatGapMs?: number;
}

export class WebhookInputDto {
  @ApiProperty({ example: 'https://example.com/zaphub' })
  @IsUrl({ protocols: ['http', 'https'], require_protocol: true, require_tld: false })
  url: string;

  @ApiPropertyOptional({ type: [String], default: ['*'] })
  @Optional()
  @IsArray()
  @ArrayMaxSize(50)
  @IsString({ each: true })
  events?: string[];

  @ApiPropertyOptional({ description: 'whsec_ + base64; generated when omitted' })
  @Optional()
  @IsString()
  @Length(1, 255)
  secret?: string;
}

export class SessionConfigDto {
  @ApiPropertyOptional({ type: HumanizeDto })
  @Optional()
  @ValidateNestedObject(() => HumanizeDto)
  humanize?: HumanizeDto;

  @ApiPropertyOptional({ default: 60, minimum: 1, maximum: 100000, description: 'Messages per minute this session may send, across all replicas' })
  @Optional()
  @IsInt()
  @Min(1)
  @Max(100000)
  rateLimitPerMinute?: number;

  @ApiPropertyOptional({ type: [WebhookInputDto] })
  @Optional()
  @ValidateNestedArray(() => WebhookInputDto, { maxSize: 20 })
  webhooks?: WebhookInputDto[];
}

export class CreateSessionDto {
  @ApiProperty({ example: 'sales-1', pattern: SESSION_NAME_PATTERN.source })
  @IsString()
  @Matches(SESSION_NAME_PATTERN, { message: 'name must match ^[A-Za-z0-9_-]{1,64}$' })
  name: string;

  @ApiPropertyOptional({ default: true, description: 'Start the session right away' })
  @Optional()
  @IsBoolean()
  start?: boolean;

  @ApiPropertyOptional({ type: SessionConfigDto })
  @Optional()
  @ValidateNestedObject(() => SessionConfigDto)
  config?: SessionConfigDto;
}

export class PatchSessionDto {
  @ApiProperty({ type: SessionConfigDto, description: 'Required. Sections sent replace the stored ones; humanize fields merge one by one' })
  @ValidateNestedObject(() => SessionConfigDto)
  config: SessionConfigDto;
}

export class PairingCodeDto {
  @ApiProperty({
    example: '5511999998888',
    description: `International phone number: ${PHONE_MIN_DIGITS} to ${PHONE_MAX_DIGITS} digits with the country code, optionally with a leading +, spaces, dashes or parentheses`,
  })
  @IsString()
  @IsInternationalPhone()
  phoneNumber: string;
}

export class SessionNameParam {
  @ApiProperty({ description: 'The session name', pattern: '^[A-Za-z0-9_-]{1,64}$', example: 'sales' })
  @Matches(SESSION_NAME_PATTERN, { message: 'name must match ^[A-Za-z0-9_-]{1,64}$' })
  name: string;
}
