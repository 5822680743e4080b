import { Module } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../../config';
import { EnvWebhookTask } from './env-webhook.task';
import { OUTBOUND_URL_GUARD, OutboundUrlGuard } from './outbound-url/outbound-url-guard';
import { SessionEventsController } from './session-events.controller';
import { GlobalWebhooksController, SessionWebhooksController } from './webhook-endpoints.controller';
import { WebhookEndpointsService } from './webhook-endpoints.service';
import { WebhookMetrics } from './webhook-metrics';
import { WEBHOOK_SECRET_CIPHER, WebhookSecretCipher } from './webhook-secret-cipher';
import { WebhookSecretSealTask } from './webhook-secret-seal.task';
import { WebhookRepository } from './webhook.repository';

/**
 * Webhooks and the event log's readers: the catch-up route over the event log
 * (`GET /api/sessions/:name/events`), webhook endpoints (per session and
 * global, the one from WEBHOOK_URL kept in line at boot), their secrets
 * (encrypted with the auth-state key when set) and the SSRF guard every
 * outbound URL goes through. Signed deliveries and retries come next, on the
 * same tables. Exports the guard (OUTBOUND_URL_GUARD) for other outbound
 * fetches (media URLs).
 */
@Module({
  controllers: [SessionEventsController, SessionWebhooksController, GlobalWebhooksController],
  providers: [
    WebhookRepository,
    WebhookEndpointsService,
    WebhookMetrics,
    EnvWebhookTask,
    WebhookSecretSealTask,
    {
      provide: OUTBOUND_URL_GUARD,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => new OutboundUrlGuard({ allowPrivate: config.WEBHOOK_ALLOW_PRIVATE }),
    },
    {
      provide: WEBHOOK_SECRET_CIPHER,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => WebhookSecretCipher.fromConfig(config.AUTH_STATE_KEY, config.AUTH_STATE_KEY_PREVIOUS),
    },
  ],
  exports: [OUTBOUND_URL_GUARD],
})
export class WebhooksModule {}
