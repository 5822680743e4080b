import { Injectable, Logger } from '@nestjs/common';
import type { InboundSink, SentMessageStore, SessionRef, SessionWorkingListener } from './ports/inbound-sink.port';
import type { InlineWebhooks } from './ports/inline-webhooks.port';
import type { QueuedMessages } from './ports/queued-messages.port';

/** Until messaging registers its sink, inbound items are acknowledged and dropped (nothing to record them in). */
const DROPPING_SINK: InboundSink = {
  received: async () => undefined,
  ownMessage: async () => undefined,
  receipt: async () => undefined,
};

/** Until the webhooks module registers itself, `config.webhooks` cannot be accepted (nothing could deliver to them). */
const NO_INLINE_WEBHOOKS: InlineWebhooks = {
  check: async (webhooks) => {
    if (webhooks.length) throw new Error('config.webhooks needs the webhooks module');
  },
  replace: async () => undefined,
};

/** Until messaging registers itself there are no queued messages to cancel. */
const NO_QUEUED_MESSAGES: QueuedMessages = { cancelAll: async () => 0 };

/**
 * The seams other modules plug into the sessions runtime, without sessions
 * depending on them: messaging registers its InboundSink and SentMessageStore
 * at init, and listens for sessions becoming WORKING; webhooks turns
 * `config.webhooks` into endpoints (InlineWebhooks). Exported by the sessions
 * module; one instance per process.
 */
@Injectable()
export class SessionHooks {
  private readonly logger = new Logger(SessionHooks.name);
  private sink: InboundSink = DROPPING_SINK;
  private store: SentMessageStore | null = null;
  private inline: InlineWebhooks = NO_INLINE_WEBHOOKS;
  private queued: QueuedMessages = NO_QUEUED_MESSAGES;
  private readonly workingListeners = new Set<SessionWorkingListener>();

  setInboundSink(sink: InboundSink): void {
    this.sink = sink;
  }

  setSentMessageStore(store: SentMessageStore): void {
    this.store = store;
  }

  setInlineWebhooks(inline: InlineWebhooks): void {
    this.inline = inline;
  }

  setQueuedMessages(queued: QueuedMessages): void {
    this.queued = queued;
  }

  get queuedMessages(): QueuedMessages {
    return this.queued;
  }

  get inlineWebhooks(): InlineWebhooks {
    return this.inline;
  }

  /** Registers a listener; returns its removal. */
  onSessionWorking(listener: SessionWorkingListener): () => void {
    this.workingListeners.add(listener);
    return () => this.workingListeners.delete(listener);
  }

  get inboundSink(): InboundSink {
    return this.sink;
  }

  sentContent: SentMessageStore['contentOf'] = async (sessionId, waMessageId) => this.store?.contentOf(sessionId, waMessageId);

  /** Tells every listener; a failing listener is logged and does not affect the others or the session. */
  async notifyWorking(session: SessionRef): Promise<void> {
    await Promise.all(
      [...this.workingListeners].map((listener) =>
        listener(session).catch((error: unknown) => this.logger.error({ err: error, session: session.name }, 'session-working listener failed')),
      ),
    );
  }
}
