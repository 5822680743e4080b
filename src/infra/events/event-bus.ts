import { EventEmitter } from 'node:events';
import { Global, Injectable, Logger, Module } from '@nestjs/common';
import type { ZapHubEventName, ZapHubEvents } from './zaphub-events';

type Handler<E extends ZapHubEventName> = (payload: ZapHubEvents[E]) => void | Promise<void>;

/**
 * In-process, typed event bus. Handlers run asynchronously and their failures
 * are logged, never thrown back into the producer (a webhook outage must not
 * break a WhatsApp socket). Durability is the subscriber's job: the webhooks
 * module persists events in PostgreSQL before delivering them.
 */
@Injectable()
export class EventBus {
  private readonly logger = new Logger(EventBus.name);
  private readonly emitter = new EventEmitter({ captureRejections: false });

  emit<E extends ZapHubEventName>(event: E, payload: ZapHubEvents[E]): void {
    this.emitter.emit(event, payload);
  }

  on<E extends ZapHubEventName>(event: E, handler: Handler<E>): () => void {
    const wrapped = (payload: ZapHubEvents[E]) => {
      Promise.resolve()
        .then(() => handler(payload))
        .catch((error: unknown) => this.logger.error({ err: error, event }, 'event handler failed'));
    };
    this.emitter.on(event, wrapped);
    return () => this.emitter.off(event, wrapped);
  }

  listenerCount(event: ZapHubEventName): number {
    return this.emitter.listenerCount(event);
  }
}

@Global()
@Module({ providers: [EventBus], exports: [EventBus] })
export class EventBusModule {}
