import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../../../config';
import { RedisLockService } from '../../../infra/locks/redis-lock.service';
import { BackgroundFailures } from '../../../infra/metrics/background-failures';
import { DeliveryTriggers } from './delivery-triggers';
import { DeliveryRepository } from './delivery.repository';

/** Rows re-triggered per pass at most (bounded work; the next pass goes on). */
const BATCH = 1000;
/** A due delivery is left this long to its own trigger before the reconciler adds one. */
const GRACE_MS = 5000;

/**
 * Re-creates lost retry triggers: PENDING deliveries with failed attempts
 * that are due (past a grace period) get a job again. The job id (delivery +
 * attempts) makes this a no-op for a trigger that still exists, and the claim
 * makes a duplicate attempt impossible. Covers enqueue failures after an
 * attempt (Redis down), delayed jobs lost with Redis, and retries of a worker
 * that died (their claim expires). First attempts need no trigger: the
 * dispatchers claim them (woken, and on their own timer). Every worker runs
 * it at boot and every WEBHOOK_RECONCILE_INTERVAL_MS, one replica at a time
 * (Redis lock).
 */
@Injectable()
export class DeliveryReconciler implements OnApplicationBootstrap, OnApplicationShutdown {
  private timer: NodeJS.Timeout | null = null;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly deliveries: DeliveryRepository,
    private readonly triggers: DeliveryTriggers,
    private readonly locks: RedisLockService,
    private readonly background: BackgroundFailures,
  ) {}

  onApplicationBootstrap(): void {
    this.background.track('webhook delivery reconcile', this.tick());
    this.timer = setInterval(() => this.background.track('webhook delivery reconcile', this.tick()), this.config.WEBHOOK_RECONCILE_INTERVAL_MS);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** One pass under the cluster-wide lock; the number of deliveries re-triggered (0 when another replica runs it). */
  async tick(): Promise<number> {
    const ttl = Math.max(this.config.WEBHOOK_RECONCILE_INTERVAL_MS, 30_000);
    const count = await this.locks.runExclusive('webhook-delivery-reconcile', ttl, async () => {
      const due = await this.deliveries.findDueRetries(new Date(Date.now() - GRACE_MS), BATCH);
      await this.triggers.trigger(due.map((d) => ({ id: d.id, attempts: d.attempts })));
      return due.length;
    });
    return count ?? 0;
  }
}
