import { Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiAcceptedResponse, ApiBadRequestResponse, ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { DeliveriesService } from './deliveries.service';
import { DeliveriesQueryDto, DeliveryIdParam, DeliveryPageView, DeliveryView } from './deliveries.dto';

/** The delivery log: every attempt's outcome, and redelivery. */
@ApiTags('webhooks')
@ApiSecurity('api-key')
@Controller('api/webhooks/deliveries')
export class DeliveriesController {
  constructor(private readonly deliveries: DeliveriesService) {}

  @Get()
  @ApiOperation({
    summary: 'Webhook deliveries, newest first',
    description:
      'One delivery per (event, endpoint). PENDING: waiting for its first or next attempt (nextAttemptAt); DELIVERED: a 2xx came; ' +
      'FAILED: the retry schedule ran out, the endpoint answered 410 or was disabled. Filter by status, session or webhookId; page with cursor.',
  })
  @ApiOkResponse({ type: DeliveryPageView })
  @ApiBadRequestResponse({ description: 'A bad filter, limit or cursor (each named)' })
  @ApiNotFoundResponse({ description: 'Unknown session' })
  list(@Query() query: DeliveriesQueryDto): Promise<DeliveryPageView> {
    return this.deliveries.list(query);
  }

  @Post(':id/redeliver')
  @HttpCode(202)
  @ApiOperation({
    summary: 'Deliver again',
    description: 'Puts the delivery back to PENDING with a fresh retry schedule (attempts from 0), due now. Works in any status: a DELIVERED one is sent again.',
  })
  @ApiAcceptedResponse({ type: DeliveryView })
  @ApiBadRequestResponse({ description: 'id is not a UUID' })
  @ApiNotFoundResponse({ description: 'Unknown delivery' })
  redeliver(@Param() params: DeliveryIdParam): Promise<DeliveryView> {
    return this.deliveries.redeliver(params.id);
  }
}
