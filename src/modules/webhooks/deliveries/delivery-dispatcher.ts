import { Inject, Injectable, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../../../config';
import { BackgroundFailures } from '../../../infra/metrics/background-failures';
import { QueueName } from '../../../infra/queues/queue-catalogue';
import { QueuesService } from '../../../infra/queues/queues.service';
import type { EventEnvelope } from '../../../infra/events/event-log';
import { DeliveryAttemptService } from './delivery-attempt.service';
import type { ClaimedDelivery } from './delivery.repository';
import { DeliveryWakeups } from './delivery-wakeups';

/** Deliveries claimed ahead per concurrency slot (sent or waiting for a slot). */
const PREFETCH_FACTOR = 2;
/** Attempts per concurrency slot that may wait for their outcome's write before claiming stops. */
const WRITE_BACKLOG_FACTOR = 4;
/** How soon a dispatcher looks again after a failed claim (PostgreSQL down) or while the queue is paused. */
const RETRY_MS = 1000;
/**
 * How long an answer of "is the queue paused?" is trusted. Asking Redis
 * before every claim cost a round trip per batch on the hot path; the
 * contract promises a pause stops first attempts within a second.
 */
const PAUSE_CHECK_MS = 250;

/**
 * Runs first attempts on this worker, without a job per delivery: woken by
 * DeliveryWakeups (an event committed here or on another replica) and on a
 * timer (WEBHOOK_RECONCILE_INTERVAL_MS), it claims due first attempts in
 * batches (one statement for up to the free slots, lowest seq first, SKIP
 * LOCKED so replicas share the backlog) and keeps up to
 * QUEUE_WEBHOOK_DELIVERY_CONCURRENCY attempts in flight; outcomes are written
 * in batches too (DeliveryOutcomeWriter). Retries, redeliveries and lost
 * hints still come as webhook-delivery triggers (BullMQ), one delivery each.
 *
 * Why: a BullMQ job per delivery and three statements per attempt cost more
 * CPU than the POST itself (bench:webhooks). The rows stay the truth: a
 * claim is a lease on the row, as for a trigger's attempt.
 *
 * Honours the webhook-delivery queue's global pause (POST /api/queues/pause):
 * nothing is claimed while it is paused.
 */
@Injectable()
export class DeliveryDispatcher implements OnApplicationBootstrap, BeforeApplicationShutdown {
  /** Every attempt not yet over (its outcome may still be waiting for its write). */
  private readonly attemptsRunning = new Set<Promise<void>>();
  /** Attempts whose request is not over: what the concurrency bounds. */
  private sending = 0;
  /** Claimed, waiting for a request slot (in `seq` order). */
  private readonly ready: Array<{ delivery: ClaimedDelivery; envelopes: Map<string, EventEnvelope> }> = [];
  private readonly concurrency: number;
  /** Claim again once this many slots are free (a claim per finished attempt would cost a statement each). */
  private readonly lowWater: number;
  private readonly pollMs: number;
  private wanted = false;
  /** The last pump stopped because the slots were nearly full: a finishing attempt wakes it. */
  private moreDue = false;
  private pumping: Promise<void> | null = null;
  private stopped = true;
  private unlisten: (() => void) | null = null;
  private timer: NodeJS.Timeout | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  /** The last answer about the queue's pause, and when it was asked (performance.now()). */
  private paused = { value: false, at: Number.NEGATIVE_INFINITY };

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly attempts: DeliveryAttemptService,
    private readonly wakeups: DeliveryWakeups,
    private readonly queues: QueuesService,
    private readonly background: BackgroundFailures,
  ) {
    this.concurrency = config.QUEUE_WEBHOOK_DELIVERY_CONCURRENCY;
    this.lowWater = Math.max(1, Math.floor(this.concurrency / 2));
    this.pollMs = config.WEBHOOK_RECONCILE_INTERVAL_MS;
  }

  onApplicationBootstrap(): void {
    this.stopped = false;
    this.unlisten = this.wakeups.listen(() => this.wake());
    this.timer = setInterval(() => this.wake(), this.pollMs);
    this.timer.unref();
    this.wake();
  }

  /** Stops claiming, then waits for the attempts in flight (their outcomes are written). */
  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    this.unlisten?.();
    if (this.timer) clearInterval(this.timer);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    await this.pumping;
    // Claimed attempts still start as others end (their rows are leased to this worker).
    while (this.attemptsRunning.size) await Promise.all([...this.attemptsRunning]);
  }

  /**
   * Asks for a claim. A wake-up while a pump runs makes it look once more;
   * while the dispatcher backs off (a failed claim, the queue paused) the
   * retry timer looks instead.
   */
  wake(): void {
    this.wanted = true;
    if (this.pumping || this.stopped || this.retryTimer) return;
    this.pumping = this.pump()
      .catch((error: unknown) => {
        this.background.record('webhook delivery dispatch', error);
        this.retrySoon();
      })
      .finally(() => {
        this.pumping = null;
        // A wake-up that came after the loop's last look.
        if (this.wanted) this.wake();
      });
  }

  private async pump(): Promise<void> {
    while (this.wanted && !this.stopped) {
      this.wanted = false;
      this.startReady();
      // Claimed ahead up to twice the concurrency, so a claim's round trip never leaves slots idle;
      // and no more attempts in all (answered ones waiting for their write) than a bound: a slow
      // database slows claiming down instead of piling attempts up in memory.
      const room = Math.min(
        PREFETCH_FACTOR * this.concurrency - this.ready.length - this.sending,
        WRITE_BACKLOG_FACTOR * this.concurrency - this.ready.length - this.attemptsRunning.size,
      );
      // Nearly full: the attempts under way wake the dispatcher as they end.
      if (room < this.lowWater && this.ready.length + this.attemptsRunning.size > 0) {
        this.moreDue = true;
        return;
      }
      if (await this.isPaused()) {
        this.retrySoon();
        return;
      }
      const { claimed, envelopes } = await this.attempts.claimFirstAttempts(room);
      for (const delivery of claimed) this.ready.push({ delivery, envelopes });
      // A full batch: more may be due.
      if (claimed.length === room) this.wanted = true;
      else this.moreDue = false;
      this.startReady();
    }
  }

  /** The webhook-delivery queue's global pause, asked at most every PAUSE_CHECK_MS. */
  private async isPaused(): Promise<boolean> {
    const now = performance.now();
    if (now - this.paused.at < PAUSE_CHECK_MS) return this.paused.value;
    const value = await this.queues.get(QueueName.WebhookDelivery).isPaused();
    this.paused = { value, at: now };
    return value;
  }

  /** Starts claimed attempts while request slots are free. */
  private startReady(): void {
    while (this.sending < this.concurrency && this.ready.length) {
      const { delivery, envelopes } = this.ready.shift()!;
      let sent = false;
      const onSent = (): void => {
        if (sent) return;
        sent = true;
        this.sending--;
        this.startReady();
        this.slotFreed();
      };
      this.sending++;
      const attempt: Promise<void> = this.attempts
        .run(delivery, envelopes, onSent)
        .catch((error: unknown) => this.background.record('webhook delivery attempt', error))
        .finally(() => {
          this.attemptsRunning.delete(attempt);
          this.slotFreed();
        });
      this.attemptsRunning.add(attempt);
    }
  }

  private slotFreed(): void {
    if (!this.moreDue) return;
    this.moreDue = false;
    this.wake();
  }

  private retrySoon(): void {
    if (this.retryTimer || this.stopped) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.wake();
    }, RETRY_MS);
    this.retryTimer.unref();
  }
}
