import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../../config';
import { RedisService } from '../../infra/redis/redis.module';

interface WorkerSlots {
  active: number;
  max: number;
  at: number;
}

const FRESH_MS = 20_000;

/**
 * Cluster-wide pool picture: each worker publishes its slot usage to one Redis
 * hash every few seconds; any replica (api included) sums the fresh entries.
 */
@Injectable()
export class PoolStatsService {
  private readonly key: string;

  constructor(
    private readonly redis: RedisService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    this.key = redis.key('pool-workers');
  }

  async publish(active: number, max: number): Promise<void> {
    const slots: WorkerSlots = { active, max, at: Date.now() };
    await this.redis.client.hset(this.key, this.config.INSTANCE_ID, JSON.stringify(slots));
  }

  async withdraw(): Promise<void> {
    await this.redis.client.hdel(this.key, this.config.INSTANCE_ID);
  }

  /** Fresh slot usage of every live worker, by instance id (stale entries are removed). */
  async workers(): Promise<Map<string, { active: number; max: number }>> {
    const entries = await this.redis.client.hgetall(this.key);
    const now = Date.now();
    const fresh = new Map<string, { active: number; max: number }>();
    const stale: string[] = [];
    for (const [instance, raw] of Object.entries(entries)) {
      const slots = JSON.parse(raw) as WorkerSlots;
      if (now - slots.at > FRESH_MS) stale.push(instance);
      else fresh.set(instance, { active: slots.active, max: slots.max });
    }
    if (stale.length) await this.redis.client.hdel(this.key, ...stale);
    return fresh;
  }

  async totals(): Promise<{ active: number; max: number }> {
    let active = 0;
    let max = 0;
    for (const slots of (await this.workers()).values()) {
      active += slots.active;
      max += slots.max;
    }
    return { active, max };
  }

  /** Live workers other than this one that have a free slot, most room first. */
  async workersWithRoom(): Promise<string[]> {
    return [...(await this.workers()).entries()]
      .filter(([instance, slots]) => instance !== this.config.INSTANCE_ID && slots.active < slots.max)
      .sort((a, b) => b[1].max - b[1].active - (a[1].max - a[1].active))
      .map(([instance]) => instance);
  }
}
