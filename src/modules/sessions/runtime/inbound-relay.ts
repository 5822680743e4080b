import { Logger } from '@nestjs/common';
import type { InboundMessage } from '../engine/whatsapp-engine.port';
import type { InboundReceipt, SessionRef } from '../ports/inbound-sink.port';
import type { SessionHooks } from '../session-hooks';
import { SerialQueue } from './serial-queue';
import type { SessionContext } from './session-context';
import type { SessionMetrics } from './session-metrics';

/** Hand-over attempts before an item is given up (logged and counted). */
const ATTEMPTS = 3;
const RETRY_BASE_MS = 250;

/**
 * Hands one session's inbound messages and receipts to the InboundSink, in
 * arrival order, one at a time, awaiting each. A message id counts as seen
 * (duplicates from WhatsApp's re-deliveries dropped) only once the sink has
 * recorded it. A failing hand-over is retried a few times, then logged and
 * counted (`zaphub_session_inbound_failures_total`) and not marked seen, so
 * WhatsApp's next re-delivery gets another chance.
 */
export class InboundRelay {
  private readonly log = new Logger('InboundRelay');
  private readonly queue = new SerialQueue();

  constructor(
    private readonly session: SessionRef,
    private readonly context: SessionContext,
    private readonly hooks: SessionHooks,
    private readonly metrics: SessionMetrics,
  ) {}

  message(message: InboundMessage): void {
    this.queue.run(async () => {
      if (this.context.hasSeen(message.waMessageId)) return;
      const sink = this.hooks.inboundSink;
      const delivered = await this.handOver('message', () =>
        message.fromMe ? sink.ownMessage(this.session, message) : sink.received(this.session, message),
      );
      if (!delivered) return;
      this.context.markSeen(message.waMessageId);
      if (!message.fromMe) this.context.rememberContact(message.chatId, message.pushName);
    }).catch((error: unknown) => this.unexpected(error));
  }

  receipt(receipt: InboundReceipt): void {
    this.queue.run(() => this.handOver('receipt', () => this.hooks.inboundSink.receipt(this.session, receipt))).catch((error: unknown) => this.unexpected(error));
  }

  private unexpected(error: unknown): void {
    this.metrics.inboundFailed('unexpected');
    this.log.error({ err: error, session: this.session.name }, 'inbound relay failed');
  }

  /** Resolves once everything handed so far is through (used when the session closes). */
  drain(): Promise<void> {
    return this.queue.idle();
  }

  /** Never rejects: the outcome is the return value, failures are logged and counted here. */
  private async handOver(kind: 'message' | 'receipt', deliver: () => Promise<void>): Promise<boolean> {
    for (let attempt = 1; ; attempt++) {
      try {
        await deliver();
        return true;
      } catch (error) {
        if (attempt >= ATTEMPTS) {
          this.metrics.inboundFailed(kind);
          this.log.error({ err: error, session: this.session.name, kind }, 'inbound hand-over failed; WhatsApp may deliver it again');
          return false;
        }
        await new Promise((resolve) => setTimeout(resolve, RETRY_BASE_MS * 2 ** (attempt - 1)));
      }
    }
  }
}
