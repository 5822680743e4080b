import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiSecurity,
  ApiServiceUnavailableResponse,
  ApiTags,
} from '@nestjs/swagger';
import { SessionNameParam } from '../sessions/sessions.dto';
import { DeliveryView } from './deliveries/deliveries.dto';
import { WebhookEndpointsService } from './webhook-endpoints.service';
import {
  CreatedWebhookView,
  CreateWebhookDto,
  RotatedSecretView,
  RotateWebhookSecretDto,
  SessionWebhookParams,
  UpdateWebhookDto,
  WebhookIdParam,
  WebhookView,
} from './webhooks.dto';

const URL_REFUSED =
  'Invalid body (each bad field named), or a url that is refused: not http(s), with credentials, longer than 2048, ' +
  'a host that is or resolves to a loopback, private, link-local, CGNAT, multicast, unspecified, reserved or cloud-metadata address ' +
  '(unless WEBHOOK_ALLOW_PRIVATE=true), or a host that cannot be resolved';
const TEST_DESCRIPTION =
  'Sends a webhook.test event ({id, event: "webhook.test", session, sequence: 0, timestamp, data: {webhookId, url}}) to this endpoint ' +
  'alone, signed and retried like any delivery; it is not part of the session\'s event log (sequence 0). Answers with the delivery: ' +
  'follow it in GET /api/webhooks/deliveries.';
const STATUS_DESCRIPTION =
  'DISABLED endpoints receive nothing: events that happen meanwhile get no delivery, pending deliveries end FAILED. An endpoint ' +
  'that answers 410 Gone is disabled by ZapHub; set ACTIVE to re-enable it, then redeliver what failed.';
const DNS_DOWN = 'DNS did not answer for the url host in time (Retry-After), or PostgreSQL is unavailable';

/** A session's webhook endpoints: they receive that session's events. */
@ApiTags('webhooks')
@ApiSecurity('api-key')
@Controller('api/sessions/:name/webhooks')
export class SessionWebhooksController {
  constructor(private readonly endpoints: WebhookEndpointsService) {}

  @Post()
  @ApiOperation({
    summary: "Register a webhook endpoint for this session's events",
    description:
      'A secret (whsec_ + base64 of 32 random bytes) is generated unless one is given. The secret is returned in this response only: ' +
      'later reads never show it. Deliveries are signed with it (Standard Webhooks headers).',
  })
  @ApiCreatedResponse({ type: CreatedWebhookView, description: 'The endpoint, with its secret (shown only here)' })
  @ApiBadRequestResponse({ description: URL_REFUSED })
  @ApiNotFoundResponse({ description: 'Unknown session' })
  @ApiConflictResponse({ description: 'The session already has 100 webhooks' })
  @ApiServiceUnavailableResponse({ description: DNS_DOWN })
  create(@Param() params: SessionNameParam, @Body() dto: CreateWebhookDto): Promise<CreatedWebhookView> {
    return this.endpoints.createForSession(params.name, dto);
  }

  @Get()
  @ApiOperation({ summary: "The session's webhook endpoints (secrets are never shown)" })
  @ApiOkResponse({ type: [WebhookView] })
  @ApiNotFoundResponse({ description: 'Unknown session' })
  list(@Param() params: SessionNameParam): Promise<WebhookView[]> {
    return this.endpoints.listForSession(params.name);
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({ summary: "Remove one of the session's webhook endpoints" })
  @ApiNoContentResponse({ description: 'Removed' })
  @ApiBadRequestResponse({ description: 'id is not a webhook id (a UUID)' })
  @ApiNotFoundResponse({ description: 'Unknown session, or no webhook with this id in this session (another session\'s or a global one included)' })
  @ApiConflictResponse({ description: "The endpoint is declared in the session's config.webhooks: PATCH the session's config instead" })
  async remove(@Param() params: SessionWebhookParams): Promise<void> {
    await this.endpoints.deleteForSession(params.name, params.id);
  }

  @Post(':id/rotate-secret')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Replace the signing secret',
    description:
      'The new secret (generated unless given) signs from now on and is returned only here. The old one also signs, as a second ' +
      '"v1," signature in webhook-signature, for WEBHOOK_SECRET_OVERLAP_HOURS (default 24; 0: not at all), so receivers can switch ' +
      'without missing a delivery. Only one old secret is kept: rotating again ends the overlap of the older one.',
  })
  @ApiOkResponse({ type: RotatedSecretView })
  @ApiBadRequestResponse({ description: 'id is not a UUID, or the given secret is not whsec_ + base64 of 24 to 64 bytes' })
  @ApiNotFoundResponse({ description: 'Unknown session, or no webhook with this id in this session' })
  rotate(@Param() params: SessionWebhookParams, @Body() dto: RotateWebhookSecretDto): Promise<RotatedSecretView> {
    return this.endpoints.rotateForSession(params.name, params.id, dto.secret);
  }

  @Post(':id/test')
  @HttpCode(202)
  @ApiOperation({ summary: 'Send a test event to this endpoint', description: TEST_DESCRIPTION })
  @ApiAcceptedResponse({ type: DeliveryView })
  @ApiBadRequestResponse({ description: 'id is not a webhook id (a UUID)' })
  @ApiNotFoundResponse({ description: 'Unknown session, or no webhook with this id in this session' })
  test(@Param() params: SessionWebhookParams): Promise<DeliveryView> {
    return this.endpoints.testForSession(params.name, params.id);
  }

  @Patch(':id')
  @ApiOperation({ summary: 'Enable or disable the endpoint', description: STATUS_DESCRIPTION })
  @ApiOkResponse({ type: WebhookView })
  @ApiBadRequestResponse({ description: 'id is not a UUID, or status is not ACTIVE or DISABLED' })
  @ApiNotFoundResponse({ description: 'Unknown session, or no webhook with this id in this session' })
  update(@Param() params: SessionWebhookParams, @Body() dto: UpdateWebhookDto): Promise<WebhookView> {
    return this.endpoints.setStatusForSession(params.name, params.id, dto.status);
  }
}

/** Global webhook endpoints: they receive every session's events. */
@ApiTags('webhooks')
@ApiSecurity('api-key')
@Controller('api/webhooks')
export class GlobalWebhooksController {
  constructor(private readonly endpoints: WebhookEndpointsService) {}

  @Post()
  @ApiOperation({
    summary: "Register a global webhook endpoint (every session's events)",
    description: 'Same body and answer as the per-session route; the secret is returned in this response only.',
  })
  @ApiCreatedResponse({ type: CreatedWebhookView, description: 'The endpoint, with its secret (shown only here)' })
  @ApiBadRequestResponse({ description: URL_REFUSED })
  @ApiConflictResponse({ description: 'There are already 100 global webhooks' })
  @ApiServiceUnavailableResponse({ description: DNS_DOWN })
  create(@Body() dto: CreateWebhookDto): Promise<CreatedWebhookView> {
    return this.endpoints.createGlobal(dto);
  }

  @Get()
  @ApiOperation({ summary: 'The global webhook endpoints, the one defined by WEBHOOK_URL included (source "env"); secrets are never shown' })
  @ApiOkResponse({ type: [WebhookView] })
  list(): Promise<WebhookView[]> {
    return this.endpoints.listGlobal();
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Remove a global webhook endpoint' })
  @ApiNoContentResponse({ description: 'Removed' })
  @ApiBadRequestResponse({ description: 'id is not a webhook id (a UUID)' })
  @ApiNotFoundResponse({ description: "No global webhook with this id (a session's webhook is removed through its session)" })
  @ApiConflictResponse({ description: 'The endpoint is defined by WEBHOOK_URL: unset or change WEBHOOK_URL and restart instead' })
  async remove(@Param() params: WebhookIdParam): Promise<void> {
    await this.endpoints.deleteGlobal(params.id);
  }

  @Post(':id/test')
  @HttpCode(202)
  @ApiOperation({ summary: 'Send a test event to this global endpoint', description: TEST_DESCRIPTION })
  @ApiAcceptedResponse({ type: DeliveryView })
  @ApiBadRequestResponse({ description: 'id is not a webhook id (a UUID)' })
  @ApiNotFoundResponse({ description: 'No global webhook with this id' })
  test(@Param() params: WebhookIdParam): Promise<DeliveryView> {
    return this.endpoints.testGlobal(params.id);
  }

  @Patch(':id')
  @ApiOperation({ summary: 'Enable or disable a global endpoint', description: STATUS_DESCRIPTION })
  @ApiOkResponse({ type: WebhookView })
  @ApiBadRequestResponse({ description: 'id is not a UUID, or status is not ACTIVE or DISABLED' })
  @ApiNotFoundResponse({ description: 'No global webhook with this id' })
  update(@Param() params: WebhookIdParam, @Body() dto: UpdateWebhookDto): Promise<WebhookView> {
    return this.endpoints.setStatusGlobal(params.id, dto.status);
  }
}
