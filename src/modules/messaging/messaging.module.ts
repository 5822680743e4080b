import { DynamicModule, Module, type Provider } from '@nestjs/common';
import type { AppConfig } from '../../config';
import { FlowsController } from './flows/flows.controller';
import { FlowTracker } from './flows/flow-tracker';
import { InboundRecorder } from './inbound/inbound-recorder';
import { InboundRepository } from './inbound/inbound.repository';
import { inboundMediaProviders, inboundMediaWorkerProviders, MediaController } from './media/inbound-media.providers';
import { MediaFetcher } from './media/media-fetcher';
import { OutboundMedia } from './media/outbound-media';
import { MessageRepository } from './message.repository';
import { MessagesController } from './messages.controller';
import { MessagesService } from './messages.service';
import { MessagingMetrics } from './messaging-metrics';
import { ChatDrains } from './outbox/chat-drains';
import { MessageExpiry } from './outbox/message-expiry.service';
import { OutboxHints } from './outbox/outbox-hints';
import { OutboxKicks } from './outbox/outbox-kicks';
import { OutboxRepository } from './outbox/outbox.repository';
import { SendRateLimiter } from './outbox/send-rate-limiter';

/** Worker-only providers: the drains that send, what starts them, and the recorder of what sessions receive (sessions run on workers). */
function workerProviders(): Provider[] {
  return [SendRateLimiter, MediaFetcher, OutboundMedia, ChatDrains, OutboxKicks, InboundRepository, InboundRecorder, ...inboundMediaWorkerProviders()];
}

/**
 * Outbound messaging: the messages routes (every role), the outbox
 * (MessageQueueItem) and, on workers, the drains that send each chat's
 * messages in order through the session's owner.
 */
@Module({})
export class MessagingModule {
  static register(config: AppConfig): DynamicModule {
    return {
      module: MessagingModule,
      // Global so cleanup can reach MessageExpiry, the one thing it exports.
      global: true,
      controllers: [MessagesController, FlowsController, MediaController],
      exports: [MessageExpiry],
      providers: [FlowTracker, MessageRepository, OutboxRepository, OutboxHints, MessagesService, MessagingMetrics, MessageExpiry, ...inboundMediaProviders(), ...(config.APP_ROLE !== 'api' ? workerProviders() : [])],
    };
  }
}
