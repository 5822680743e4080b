import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsBoolean,
  IsInt,
  IsOptional,
  IsString,
  IsUrl,
  Length,
  Matches,
  Max,
  Min,
  ValidateNested,
  registerDecorator,
  type ValidationArguments,
} from 'class-validator';

export const SESSION_NAME_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/** minTypingMs must not exceed maxTypingMs (when both are given). */
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
        defaultMessage: () => 'minTypingMs must be less than or equal to maxTypingMs',
      },
    });
}

export class HumanizeDto {
  @ApiPropertyOptional({ default: true, description: 'Show "typing..." before each message, in proportion to its length' })
  @IsOptional()
  @IsBoolean()
  enabled?: boolean;

  @ApiPropertyOptional({ default: 40, minimum: 0 })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(600000)
  typingMsPerChar?: number;

  @ApiPropertyOptional({ default: 800, minimum: 0 })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(600000)
  @MinNotAboveMax()
  minTypingMs?: number;

  @ApiPropertyOptional({ default: 6000, minimum: 0 })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(600000)
  maxTypingMs?: number;

  @ApiPropertyOptional({ default: 1000, minimum: 0, description: 'Pause between two messages to the same chat' })
  @IsOptional()
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
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(50)
  @IsString({ each: true })
  events?: string[];

  @ApiPropertyOptional({ description: 'whsec_ + base64; generated when omitted' })
  @IsOptional()
  @IsString()
  @Length(1, 255)
  secret?: string;
}

export class SessionConfigDto {
  @ApiPropertyOptional({ type: HumanizeDto })
  @IsOptional()
  @ValidateNested()
  @Type(() => HumanizeDto)
  humanize?: HumanizeDto;

  @ApiPropertyOptional({ default: 60, minimum: 1, maximum: 100000, description: 'Messages per minute this session may send, across all replicas' })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(100000)
  rateLimitPerMinute?: number;

  @ApiPropertyOptional({ type: [WebhookInputDto] })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(20)
  @ValidateNested({ each: true })
  @Type(() => WebhookInputDto)
  webhooks?: WebhookInputDto[];
}

export class CreateSessionDto {
  @ApiProperty({ example: 'sales-1', pattern: SESSION_NAME_PATTERN.source })
  @IsString()
  @Matches(SESSION_NAME_PATTERN, { message: 'name must match ^[A-Za-z0-9_-]{1,64}$' })
  name: string;

  @ApiPropertyOptional({ default: true, description: 'Start the session right away' })
  @IsOptional()
  @IsBoolean()
  start?: boolean;

  @ApiPropertyOptional({ type: SessionConfigDto })
  @IsOptional()
  @ValidateNested()
  @Type(() => SessionConfigDto)
  config?: SessionConfigDto;
}

export class PatchSessionDto {
  @ApiProperty({ type: SessionConfigDto })
  @ValidateNested()
  @Type(() => SessionConfigDto)
  config: SessionConfigDto;
}

export class PairingCodeDto {
  @ApiProperty({ example: '5511999998888', description: 'International phone number, digits with optional +, spaces or dashes' })
  @IsString()
  @Matches(/^\+?[0-9][0-9 ()-]{6,24}$/, { message: 'phoneNumber must be an international phone number' })
  phoneNumber: string;
}

export class SessionNameParam {
  @Matches(SESSION_NAME_PATTERN, { message: 'name must match ^[A-Za-z0-9_-]{1,64}$' })
  name: string;
}
