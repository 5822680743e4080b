import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsUUID, Matches, MaxLength } from 'class-validator';
import { ListLimitQuery, Optional } from '../../../common/validation/decorators';
import { SESSION_NAME_PATTERN } from '../../sessions/sessions.dto';
import { DELIVERY_STATUSES, type DeliveryStatus } from './delivery.repository';

export class DeliveriesQueryDto {
  @ApiPropertyOptional({ enum: DELIVERY_STATUSES })
  @Optional()
  @IsIn(DELIVERY_STATUSES, { message: `status must be one of ${DELIVERY_STATUSES.join(', ')}` })
  status?: DeliveryStatus;

  @ApiPropertyOptional({ description: "Only this session's deliveries (its events and its endpoints' test pings)", example: 'sales-1' })
  @Optional()
  @Matches(SESSION_NAME_PATTERN, { message: 'session must match ^[A-Za-z0-9_-]{1,64}$' })
  session?: string;

  @ApiPropertyOptional({ description: "Only this endpoint's deliveries (a webhook id)" })
  @Optional()
  @IsUUID('all', { message: 'webhookId must be a webhook id (a UUID)' })
  webhookId?: string;

  @ApiPropertyOptional({ default: 50, minimum: 1, maximum: 1000 })
  @ListLimitQuery()
  limit?: number;

  @ApiPropertyOptional({ description: 'nextCursor of the previous page' })
  @Optional()
  @MaxLength(20)
  @Matches(/^[1-9][0-9]*$/, { message: 'cursor must be the nextCursor of a previous page' })
  cursor?: string;
}

export class DeliveryIdParam {
  @ApiProperty({ description: 'The delivery id', format: 'uuid' })
  @IsUUID('all', { message: 'id must be a delivery id (a UUID)' })
  id: string;
}

export class DeliveryView {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ format: 'uuid' }) webhookId: string;
  @ApiProperty({ nullable: true, type: String, example: 'evt_3f0c9a1e5b7d4c2a9e8f7a6b5c4d3e2f', description: 'The event delivered (for a test ping, the id of its envelope)' })
  eventId: string | null;
  @ApiProperty({ example: 'message.sent' }) event: string;
  @ApiProperty({ enum: DELIVERY_STATUSES }) status: DeliveryStatus;
  @ApiProperty({ description: 'Attempts made so far' }) attempts: number;
  @ApiProperty({ nullable: true, type: Number, description: 'HTTP status of the last answer; null when none came' }) lastStatusCode: number | null;
  @ApiProperty({ nullable: true, type: String, description: 'Why the last attempt failed: the HTTP status and up to 1 KB of the body, or the connection error' })
  lastError: string | null;
  @ApiProperty({ nullable: true, type: String, description: 'When a PENDING delivery is next attempted; null otherwise' }) nextAttemptAt: string | null;
  @ApiProperty() createdAt: string;
  @ApiProperty({ nullable: true, type: String }) deliveredAt: string | null;
}

export class DeliveryPageView {
  @ApiProperty({ type: [DeliveryView] }) items: DeliveryView[];
  @ApiProperty({ nullable: true, type: String, description: 'Pass as `cursor` for the next (older) page; null on the last page' }) nextCursor: string | null;
}
