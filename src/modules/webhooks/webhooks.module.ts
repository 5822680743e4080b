import { DynamicModule, Module, type Provider } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../../config';
import { DeliveriesController } from './deliveries/deliveries.controller';
import { DeliveriesService } from './deliveries/deliveries.service';
import { DeliveryAttemptService } from './deliveries/delivery-attempt.service';
import { DeliveryDispatcher } from './deliveries/delivery-dispatcher';
import { DeliveryFanout } from './deliveries/delivery-fanout';
import { DeliveryMetrics } from './deliveries/delivery-metrics';
import { DeliveryOutcomeWriter } from './deliveries/delivery-outcome-writer';
import { DeliveryReconciler } from './deliveries/delivery-reconciler';
import { DeliveryTriggers } from './deliveries/delivery-triggers';
import { DeliveryWakeups } from './deliveries/delivery-wakeups';
import { DeliveryRepository } from './deliveries/delivery.repository';
import { WebhookDeliveryProcessor } from './deliveries/webhook-delivery.processor';
import { EnvWebhookTask } from './env-webhook.task';
import { InlineWebhooksService } from './inline-webhooks.service';
import { SessionEventsController } from './session-events.controller';
import { GlobalWebhooksController, SessionWebhooksController } from './webhook-endpoints.controller';
import { WebhookEndpointsService } from './webhook-endpoints.service';
import { WebhookMetrics } from './webhook-metrics';
import { WEBHOOK_SECRET_CIPHER, WebhookSecretCipher } from './webhook-secret-cipher';
import { WebhookSecretSealTask } from './webhook-secret-seal.task';
import { WebhookRepository } from './webhook.repository';

/** Worker-only providers: delivery attempts (the dispatcher and the processor of triggers) and the trigger reconciler. */
function workerProviders(): Provider[] {
  return [DeliveryAttemptService, DeliveryOutcomeWriter, DeliveryDispatcher, WebhookDeliveryProcessor, DeliveryReconciler];
}

/**
 * Webhooks and the event log's readers: the catch-up route over the event log
 * (`GET /api/sessions/:name/events`), webhook endpoints (per session and
 * global, the one from WEBHOOK_URL kept in line at boot), their secrets
 * (encrypted with the auth-state key when set), and deliveries: every
 * appended event fans out to delivery rows in its own transaction (every
 * role), workers make the signed attempts (through the infra SSRF guard) and
 * keep the retry schedule on the rows.
 */
@Module({})
export class WebhooksModule {
  static register(config: AppConfig): DynamicModule {
    return {
      module: WebhooksModule,
      controllers: [SessionEventsController, SessionWebhooksController, GlobalWebhooksController, DeliveriesController],
      providers: [
        WebhookRepository,
        WebhookEndpointsService,
        InlineWebhooksService,
        WebhookMetrics,
        EnvWebhookTask,
        WebhookSecretSealTask,
        DeliveryRepository,
        DeliveryTriggers,
        DeliveryWakeups,
        DeliveryFanout,
        DeliveryMetrics,
        DeliveriesService,
        {
          provide: WEBHOOK_SECRET_CIPHER,
          inject: [APP_CONFIG],
          useFactory: (c: AppConfig) => WebhookSecretCipher.fromConfig(c.AUTH_STATE_KEY, c.AUTH_STATE_KEY_PREVIOUS),
        },
        ...(config.APP_ROLE !== 'api' ? workerProviders() : []),
      ],
    };
  }
}
