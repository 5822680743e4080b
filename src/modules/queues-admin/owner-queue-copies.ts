import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { InjectBullBoard, type BullBoardInstance } from '@bull-board/nestjs';
import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { Queue } from 'bullmq';
import { APP_CONFIG, type AppConfig } from '../../config';
import { BackgroundFailures } from '../../infra/metrics/background-failures';
import { OWNER_QUEUES, queuePrefix, type QueueName } from '../../infra/queues/queue-catalogue';
import { QueuesService } from '../../infra/queues/queues.service';
import { RedisService, withTimeout } from '../../infra/redis/redis.module';

/** How often the board looks for other workers' copies of the owner queues. */
const REFRESH_MS = 30_000;
/** A scan that takes longer (a huge keyspace, Redis down) is given up until the next refresh. */
const SCAN_TIMEOUT_MS = 5000;

/** The board name of a copy: the worker's id first, so a worker's copies sort together. */
export function copyName(instanceId: string, queue: QueueName): string {
  return `owner-${instanceId}.${queue}`;
}

/** The worker id of an owner-queue copy from its meta key (`<prefix>-owner-<instance>:<queue>:meta`), or null for another key. */
export function ownerOfMetaKey(key: string, redisPrefix: string, queue: QueueName): string | null {
  const head = `${redisPrefix}-owner-`;
  const tail = `:${queue}:meta`;
  if (!key.startsWith(head) || !key.endsWith(tail)) return null;
  const instance = key.slice(head.length, key.length - tail.length);
  return instance && !instance.includes(':') ? instance : null;
}

/**
 * Owner queues (OWNER_QUEUES) have one copy per worker, under a BullMQ prefix
 * that carries the worker's INSTANCE_ID; bull-board's module only knows this
 * replica's copy. So that /admin/queues shows every queue on every replica
 * (an api replica owns no session), this finds the copies of the other
 * workers in Redis (each copy's `meta` key, written by BullMQ when its
 * queue opens) and shows those that hold jobs. Copies of workers that are
 * gone stay listed while they hold jobs: those jobs are never run (the new
 * owner re-enqueues the work in its own copy), and the board is where an
 * operator can see and clean them. Refreshed every 30 s; the copies share the
 * app's Redis connection.
 */
@Injectable()
export class OwnerQueueCopies implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly shown = new Map<string, Queue>();
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;

  constructor(
    @InjectBullBoard() private readonly board: BullBoardInstance,
    private readonly redis: RedisService,
    private readonly queues: QueuesService,
    private readonly background: BackgroundFailures,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    // This replica's own copies are always listed (named like the others'), even when empty.
    for (const queue of OWNER_QUEUES) {
      this.board.addQueue(new BullMQAdapter(this.queues.get(queue), { prefix: `owner-${this.config.INSTANCE_ID}.`, description: `Copy of ${queue} on this replica` }));
    }
    if (OWNER_QUEUES.length) this.schedule(0);
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running?.catch(() => undefined);
    await Promise.all([...this.shown.values()].map((queue) => queue.close().catch(() => undefined)));
    this.shown.clear();
  }

  /** Finds the copies now (also what the timer runs); one refresh at a time. */
  refresh(): Promise<void> {
    this.running ??= this.scanAll().finally(() => (this.running = null));
    return this.running;
  }

  private schedule(delayMs: number): void {
    this.timer = setTimeout(() => {
      this.background.track('queue-board-owner-copies', this.refresh().finally(() => this.timer && this.schedule(REFRESH_MS)));
    }, delayMs);
    this.timer.unref();
  }

  private async scanAll(): Promise<void> {
    for (const queue of OWNER_QUEUES) {
      const instances = await withTimeout(this.findCopies(queue), SCAN_TIMEOUT_MS, `scanning for copies of ${queue} timed out`);
      for (const instance of instances) await this.showIfBusy(instance, queue);
      // A copy whose keys are gone (cleaned, or Redis flushed) leaves the board.
      for (const [name, copy] of this.shown) {
        if (copy.name === queue && !instances.some((instance) => copyName(instance, queue) === name)) await this.hide(name);
      }
    }
  }

  private async findCopies(queue: QueueName): Promise<string[]> {
    const own = queuePrefix(this.config, queue);
    const found = new Set<string>();
    let cursor = '0';
    do {
      const [next, keys] = await this.redis.client.scan(cursor, 'MATCH', `${this.config.REDIS_PREFIX}-owner-*:${queue}:meta`, 'COUNT', 1000);
      cursor = next;
      for (const key of keys) {
        const instance = ownerOfMetaKey(key, this.config.REDIS_PREFIX, queue);
        if (instance && !key.startsWith(`${own}:`)) found.add(instance);
      }
    } while (cursor !== '0');
    return [...found];
  }

  private async showIfBusy(instance: string, queue: QueueName): Promise<void> {
    const name = copyName(instance, queue);
    // skipMetasUpdate: looking at a copy must not write to it (nor keep its meta key alive).
    const shown = this.shown.get(name);
    const copy = shown ?? new Queue(queue, { connection: this.redis.client, prefix: `${this.config.REDIS_PREFIX}-owner-${instance}`, skipMetasUpdate: true });
    let busy: boolean;
    try {
      const counts = await copy.getJobCounts('waiting', 'prioritized', 'active', 'delayed', 'failed', 'completed', 'waiting-children');
      busy = Object.values(counts).some((n) => n > 0);
    } catch (error) {
      if (!shown) await copy.close();
      throw error;
    }
    if (busy && !this.shown.has(name)) {
      this.shown.set(name, copy);
      this.board.addQueue(new BullMQAdapter(copy, { prefix: `owner-${instance}.`, description: `Copy of ${queue} on worker ${instance}` }));
    } else if (!busy) {
      if (this.shown.has(name)) await this.hide(name);
      else await copy.close();
    }
  }

  private async hide(name: string): Promise<void> {
    const copy = this.shown.get(name);
    this.shown.delete(name);
    this.board.removeQueue(name);
    await copy?.close();
  }
}
