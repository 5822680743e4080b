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
/** Items handed over at once at most (the sink's transactions take up to a few hundred). */
const MAX_HAND_OVER = 200;

type Item = ({ kind: 'message'; message: InboundMessage } | { kind: 'receipt'; receipt: InboundReceipt }) & {
  /** Called once the item is through (recorded, dropped as seen, or given up). */
  done: () => void;
};

/**
 * Hands one session's inbound messages and receipts to the InboundSink, in
 * arrival order. What waits while a hand-over is in progress goes over
 * together next: a run of consecutive messages (or of consecutive receipts)
 * is submitted to the sink all at once, without awaiting each one before the
 * next submit, so a session's burst shares the sink's transactions (the sink
 * keeps a session's items in submission order); the results are then awaited
 * in order. A run ends where the kind changes and at a reaction, edit or
 * delete: these change an earlier message, so everything before them is
 * recorded first (as a receipt waits for the phone's own message it is about).
 *
 * A message id counts as seen (duplicates from WhatsApp's re-deliveries
 * dropped) only once the sink has recorded it. A failing hand-over is retried
 * a few times, then logged and counted (`zaphub_session_inbound_failures_total`)
 * and not marked seen, so WhatsApp's next re-delivery gets another chance.
 * (A retried item commits after the later items of its run.)
 */
export class InboundRelay {
  private readonly log = new Logger('InboundRelay');
  private readonly queue = new SerialQueue();
  private waiting: Item[] = [];
  /** A flush is queued and has not started yet: it will take what arrives meanwhile. */
  private flushQueued = false;
  /** Settles once the last item handed so far is through (items go through in arrival order). */
  private lastThrough: Promise<void> = Promise.resolve();

  constructor(
    private readonly session: SessionRef,
    private readonly context: SessionContext,
    private readonly hooks: SessionHooks,
    private readonly metrics: SessionMetrics,
  ) {}

  message(message: InboundMessage): void {
    this.enqueue({ kind: 'message', message });
  }

  receipt(receipt: InboundReceipt): void {
    this.enqueue({ kind: 'receipt', receipt });
  }

  /**
   * Resolves once everything handed so far is through: recorded, dropped as already seen, or
   * given up (logged and counted). Not what arrives later, so a steady stream does not hold it.
   * Never rejects.
   */
  drain(): Promise<void> {
    return this.lastThrough;
  }

  private enqueue(item: { kind: 'message'; message: InboundMessage } | { kind: 'receipt'; receipt: InboundReceipt }): void {
    let done!: () => void;
    this.lastThrough = new Promise<void>((resolve) => (done = resolve));
    this.waiting.push({ ...item, done });
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.flushQueued) return;
    this.flushQueued = true;
    this.queue
      .run(() => this.flush())
      .catch((error: unknown) => this.unexpected(error));
  }

  /** Hands over the next run of waiting items, then schedules another flush for what is left. */
  private async flush(): Promise<void> {
    this.flushQueued = false;
    const run = this.takeRun();
    try {
      if (run[0]?.kind === 'message') await this.handMessages(run as Array<Extract<Item, { kind: 'message' }>>);
      else if (run[0]?.kind === 'receipt') await this.handReceipts(run as Array<Extract<Item, { kind: 'receipt' }>>);
    } finally {
      // Each item is done as it goes through; this covers an unexpected failure half-way.
      for (const item of run) item.done();
      if (this.waiting.length) this.scheduleFlush();
    }
  }

  /** The longest prefix of waiting items that can be handed over together. */
  private takeRun(): Item[] {
    const first = this.waiting[0];
    if (!first) return [];
    let n = 1;
    if (!(first.kind === 'message' && changesEarlier(first.message))) {
      while (n < this.waiting.length && n < MAX_HAND_OVER) {
        const next = this.waiting[n]!;
        if (next.kind !== first.kind || (next.kind === 'message' && changesEarlier(next.message))) break;
        n++;
      }
    }
    const run = this.waiting.slice(0, n);
    this.waiting = this.waiting.slice(n);
    return run;
  }

  private async handMessages(items: Array<Extract<Item, { kind: 'message' }>>): Promise<void> {
    const ids = new Set<string>();
    const sink = this.hooks.inboundSink;
    // async: a sink that throws at once fails like one that rejects.
    const deliver = (m: InboundMessage) => async () => (m.fromMe ? sink.ownMessage(this.session, m) : sink.received(this.session, m));
    // All submitted in this turn (the sink batches them in this order), then awaited in order.
    // Already recorded, or twice in this run (a re-delivery during a burst): not handed over.
    const firstTries = items.map(({ message }) => {
      const fresh = !this.context.hasSeen(message.waMessageId) && !ids.has(message.waMessageId);
      ids.add(message.waMessageId);
      return fresh ? settle(deliver(message)()) : null;
    });
    // Done in arrival order (drain() counts on it), the dropped ones too.
    for (const [k, { message, done }] of items.entries()) {
      const firstTry = firstTries[k];
      if (firstTry && (await this.handOver('message', deliver(message), firstTry))) {
        this.context.markSeen(message.waMessageId);
        if (!message.fromMe) this.context.rememberContact(message.chatId, message.pushName);
      }
      done();
    }
  }

  private async handReceipts(items: Array<Extract<Item, { kind: 'receipt' }>>): Promise<void> {
    const sink = this.hooks.inboundSink;
    const deliver = (r: InboundReceipt) => async () => sink.receipt(this.session, r);
    const firstTries = items.map((i) => settle(deliver(i.receipt)()));
    for (const [k, { receipt, done }] of items.entries()) {
      await this.handOver('receipt', deliver(receipt), firstTries[k]!);
      done();
    }
  }

  private unexpected(error: unknown): void {
    this.metrics.inboundFailed('unexpected');
    this.log.error({ err: error, session: this.session.name }, 'inbound relay failed');
  }

  /**
   * The outcome of one item: its first attempt (already started), then retries with backoff.
   * Never rejects: the outcome is the return value, failures are logged and counted here.
   */
  private async handOver(kind: 'message' | 'receipt', deliver: () => Promise<void>, firstTry: Promise<{ error: unknown } | null>): Promise<boolean> {
    let failed = await firstTry;
    for (let attempt = 1; failed; attempt++) {
      if (attempt >= ATTEMPTS) {
        this.metrics.inboundFailed(kind);
        this.log.error({ err: failed.error, session: this.session.name, kind }, 'inbound hand-over failed; WhatsApp may deliver it again');
        return false;
      }
      await new Promise((resolve) => setTimeout(resolve, RETRY_BASE_MS * 2 ** (attempt - 1)));
      failed = await settle(deliver());
    }
    return true;
  }
}

/** A promise's outcome as a value (null: it resolved), so started attempts never reject unobserved. */
function settle(promise: Promise<void>): Promise<{ error: unknown } | null> {
  return promise.then(
    () => null,
    (error: unknown) => ({ error }),
  );
}

/** A reaction, an edit or a delete for everyone: it applies to an earlier message, so it goes alone. */
function changesEarlier(message: InboundMessage): boolean {
  return Boolean(message.change) || Boolean(message.reactionTo);
}
