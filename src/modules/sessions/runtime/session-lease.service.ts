import { Inject, Injectable, Logger } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../../../config';
import { RedisLockService, type Lease } from '../../../infra/locks/redis-lock.service';

const leaseName = (sessionId: string) => `session:${sessionId}`;

/**
 * One owner per session across replicas: a Redis lease whose token is this
 * worker's instance id. Leases are renewed together on one timer (not one
 * timer per session); a lease that cannot be renewed is reported as lost so the
 * runtime closes that socket before another worker adopts the session.
 */
@Injectable()
export class SessionLeaseService {
  private readonly logger = new Logger(SessionLeaseService.name);
  private readonly held = new Map<string, Lease>();
  private timer: NodeJS.Timeout | null = null;
  private onLost: (sessionId: string) => void = () => undefined;

  constructor(
    private readonly locks: RedisLockService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  get ttlMs(): number {
    return this.config.SESSION_LEASE_TTL_MS;
  }

  /** Starts the renewal loop; `onLost` is called for each lease that could not be renewed. */
  startRenewal(onLost: (sessionId: string) => void): void {
    this.onLost = onLost;
    this.timer ??= setInterval(() => void this.renewAll(), Math.max(250, Math.floor(this.ttlMs / 3)));
    this.timer.unref();
  }

  stopRenewal(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  async acquire(sessionId: string): Promise<boolean> {
    if (this.held.has(sessionId)) return true;
    const name = leaseName(sessionId);
    const lease = await this.locks.acquire(name, this.ttlMs, this.config.INSTANCE_ID);
    if (lease) {
      this.held.set(sessionId, lease);
      return true;
    }
    // A lease left by an earlier run with the same INSTANCE_ID (e.g. a restarted
    // pod with a stable name) is ours: extend it instead of waiting for expiry.
    const own = { key: this.locks.keyFor(name), token: this.config.INSTANCE_ID };
    if (!(await this.locks.renew(own, this.ttlMs))) return false;
    this.held.set(sessionId, own);
    return true;
  }

  async release(sessionId: string): Promise<void> {
    const lease = this.held.get(sessionId);
    this.held.delete(sessionId);
    if (lease) await this.locks.release(lease).catch(() => undefined);
  }

  isHeld(sessionId: string): boolean {
    return this.held.has(sessionId);
  }

  /** Instance id holding each session's lease (null when free), in one round trip. */
  async holders(sessionIds: string[]): Promise<Map<string, string | null>> {
    const values = await this.locks.holders(sessionIds.map(leaseName));
    return new Map(sessionIds.map((id, i) => [id, values[i] ?? null]));
  }

  async holder(sessionId: string): Promise<string | null> {
    return this.locks.holder(leaseName(sessionId));
  }

  private async renewOne(sessionId: string): Promise<boolean> {
    const lease = this.held.get(sessionId);
    if (!lease) return false;
    const ok = await this.locks.renew(lease, this.ttlMs).catch(() => false);
    if (!ok) this.held.delete(sessionId);
    return ok;
  }

  private async renewAll(): Promise<void> {
    const ids = [...this.held.keys()];
    const results = await Promise.all(ids.map(async (id) => [id, await this.renewOne(id)] as const));
    for (const [id, ok] of results) {
      if (!ok) {
        this.logger.warn(`lost the lease of session ${id}: closing its socket`);
        this.onLost(id);
      }
    }
  }
}
