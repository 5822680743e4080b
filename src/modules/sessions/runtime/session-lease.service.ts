import { Inject, Injectable, Logger } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../../../config';
import { RedisLockService, type Lease } from '../../../infra/locks/redis-lock.service';
import { withTimeout } from '../../../infra/redis/redis.module';

const leaseName = (sessionId: string) => `session:${sessionId}`;

interface HeldLease {
  lease: Lease;
  /** When Redis last confirmed the lease (acquire or renewal). */
  confirmedAt: number;
}

/**
 * One owner per session across replicas: a Redis lease whose token is this
 * worker's instance id, renewed for all sessions on one timer.
 *
 * A lease counts as lost only when Redis says another worker holds it, or
 * when it could not be confirmed for longer than the TTL minus a margin
 * (others may take it once it expires). One failed renewal (a Redis blip) is
 * not a loss: closing every socket of every worker on a blip would be a
 * reconnect storm. The lease is only half of the fencing: the epoch on the
 * Session row (bumped at every acquisition) makes a stale owner's writes
 * no-ops, see SessionDriver.
 */
@Injectable()
export class SessionLeaseService {
  private readonly logger = new Logger(SessionLeaseService.name);
  private readonly held = new Map<string, HeldLease>();
  private timer: NodeJS.Timeout | null = null;
  private renewing: Promise<void> | null = null;
  private onLost: (sessionId: string, reason: string) => void = () => undefined;

  constructor(
    private readonly locks: RedisLockService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  get ttlMs(): number {
    return this.config.SESSION_LEASE_TTL_MS;
  }

  /** Unconfirmed for longer than this, a lease is given up (a quarter of the TTL before others may take it). */
  get maxUnconfirmedMs(): number {
    return this.ttlMs - Math.floor(this.ttlMs / 4);
  }

  get renewIntervalMs(): number {
    return Math.max(250, Math.floor(this.ttlMs / 6));
  }

  /** Starts the renewal loop; `onLost` is called once for each lease given up. */
  startRenewal(onLost: (sessionId: string, reason: string) => void): void {
    this.onLost = onLost;
    this.timer ??= setInterval(
      () => this.renewAll().catch((error: unknown) => this.logger.error({ err: error }, 'lease renewal pass failed')),
      this.renewIntervalMs,
    );
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
      this.held.set(sessionId, { lease, confirmedAt: Date.now() });
      return true;
    }
    // A lease left by an earlier run with the same INSTANCE_ID (a restarted pod
    // with a stable name) is ours: extend it instead of waiting for expiry.
    const own = { key: this.locks.keyFor(name), token: this.config.INSTANCE_ID };
    if (!(await this.locks.renew(own, this.ttlMs))) return false;
    this.held.set(sessionId, { lease: own, confirmedAt: Date.now() });
    return true;
  }

  /** Hands the lease back (another worker may adopt at once). Errors are left to the caller. */
  async release(sessionId: string): Promise<void> {
    const held = this.held.get(sessionId);
    this.held.delete(sessionId);
    if (held) await this.locks.release(held.lease);
  }

  /** Forgets a lease without touching Redis (it is someone else's now). */
  forget(sessionId: string): void {
    this.held.delete(sessionId);
  }

  isHeld(sessionId: string): boolean {
    return this.held.has(sessionId);
  }

  get heldCount(): number {
    return this.held.size;
  }

  /** Instance id holding each session's lease (null when free), in one round trip. */
  async holders(sessionIds: string[]): Promise<Map<string, string | null>> {
    const values = await this.locks.holders(sessionIds.map(leaseName));
    return new Map(sessionIds.map((id, i) => [id, values[i] ?? null]));
  }

  async holder(sessionId: string): Promise<string | null> {
    return this.locks.holder(leaseName(sessionId));
  }

  /** One renewal pass over every held lease (concurrent calls share it). */
  renewAll(): Promise<void> {
    this.renewing ??= this.renewPass().finally(() => {
      this.renewing = null;
    });
    return this.renewing;
  }

  private async renewPass(): Promise<void> {
    const entries = [...this.held.entries()];
    await Promise.all(entries.map(([id, held]) => this.renewOne(id, held)));
  }

  private async renewOne(sessionId: string, held: HeldLease): Promise<void> {
    let outcome: Awaited<ReturnType<RedisLockService['renewOrReclaim']>> | 'error';
    try {
      // Bounded: a Redis that stopped answering must count as unconfirmed, not stall every later pass.
      outcome = await withTimeout(this.locks.renewOrReclaim(held.lease, this.ttlMs), this.renewIntervalMs, 'lease renewal timed out');
    } catch {
      outcome = 'error';
    }
    if (this.held.get(sessionId) !== held) return; // released meanwhile
    if (outcome === 'renewed' || outcome === 'reclaimed') {
      held.confirmedAt = Date.now();
      if (outcome === 'reclaimed') this.logger.warn(`session ${sessionId}: lease key had vanished (Redis restart?); taken back`);
      return;
    }
    const unconfirmedMs = Date.now() - held.confirmedAt;
    if (outcome === 'error' && unconfirmedMs <= this.maxUnconfirmedMs) return; // a blip: try again next pass
    this.held.delete(sessionId);
    const reason = outcome === 'lost' ? 'another worker holds the lease' : `lease not confirmed for ${unconfirmedMs} ms (Redis unreachable)`;
    this.logger.warn(`session ${sessionId}: ${reason}; closing its socket`);
    this.onLost(sessionId, reason);
  }
}
