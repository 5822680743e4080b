import { Module } from '@nestjs/common';
import { SessionEventsController } from './session-events.controller';

/**
 * Webhooks and the event log's readers. Today: the catch-up route over the
 * event log (`GET /api/sessions/:name/events`); endpoints, signed deliveries
 * and retries come next, reading the same log.
 */
@Module({ controllers: [SessionEventsController] })
export class WebhooksModule {}
