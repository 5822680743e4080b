import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { BackgroundFailures } from '../../../infra/metrics/background-failures';
import { RedisService } from '../../../infra/redis/redis.module';

/**
 * "New deliveries are due": the hint that starts first attempts without a
 * job per delivery. After an event's transaction committed, `notify` wakes
 * this process's dispatcher (when it runs one) and publishes on a Redis
 * channel for the other replicas' dispatchers. Notifications within one tick
 * are one wake-up and one PUBLISH. A lost hint (Redis down, a replica
 * restarting) delays nothing for long: dispatchers also look for due rows on
 * a timer, and the reconciler re-triggers deliveries due for a while.
 */
@Injectable()
export class DeliveryWakeups {
  /** This process, so its own publications are not a second wake-up. */
  private readonly instance = randomUUID();
  private local: (() => void) | null = null;
  private scheduled = false;

  constructor(
    private readonly redis: RedisService,
    private readonly background: BackgroundFailures,
  ) {}

  get channel(): string {
    return this.redis.key('webhook-deliveries-due');
  }

  notify(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.local?.();
      this.background.track('webhook delivery wake-up', this.redis.client.publish(this.channel, this.instance));
    });
  }

  /**
   * Calls `wake` on every notification of this process or of another replica,
   * until the returned function is called. The subscription has its own
   * connection that reconnects (and resubscribes) by itself; boot does not
   * wait for it (with Redis down, the timers carry the work).
   */
  listen(wake: () => void): () => void {
    this.local = wake;
    const subscription = this.redis.subscribe(this.channel, (from) => {
      if (from !== this.instance) wake();
    });
    this.background.track('webhook delivery wake-up subscription', subscription.subscribed);
    return () => {
      this.local = null;
      subscription.close();
    };
  }
}
