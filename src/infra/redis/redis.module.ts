import { Global, Inject, Injectable, Module, type OnApplicationShutdown } from '@nestjs/common';
import IORedis, { type Redis, type RedisOptions } from 'ioredis';
import { APP_CONFIG, type AppConfig } from '../../config';

/**
 * Redis connections of the process.
 * - `client`: commands (locks, leases, rate limits, health). Fails fast when
 *   Redis is down instead of queueing commands in memory.
 * - BullMQ creates its own connections from `bullConnection()`.
 */
@Injectable()
export class RedisService implements OnApplicationShutdown {
  readonly client: Redis;
  readonly prefix: string;

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {
    this.prefix = config.REDIS_PREFIX;
    this.client = new IORedis(config.REDIS_URL, {
      ...baseRedisOptions(),
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      lazyConnect: false,
    });
    // Connection errors surface through health checks; keep ioredis from
    // printing an unhandled 'error' event per retry.
    this.client.on('error', () => undefined);
  }

  /**
   * A dedicated connection for SUBSCRIBE or blocking commands (they monopolise
   * their connection). Unlike `client` it queues commands while reconnecting
   * and retries forever, so a Redis blip does not end a subscription. The
   * caller owns it and must `disconnect()` it.
   */
  createSubscriber(): Redis {
    const subscriber = new IORedis(this.config.REDIS_URL, { ...baseRedisOptions(), maxRetriesPerRequest: null, enableOfflineQueue: true });
    subscriber.on('error', () => undefined);
    return subscriber;
  }

  /**
   * Subscribes a connection of its own (see createSubscriber) to `channel`:
   * `onMessage` gets each message's text. `subscribed` settles once Redis
   * confirmed the subscription (or failed to); `close` ends it.
   */
  subscribe(channel: string, onMessage: (message: string) => void): { subscribed: Promise<unknown>; close: () => void } {
    const subscriber = this.createSubscriber();
    subscriber.on('message', (_channel: string, message: string) => onMessage(message));
    return { subscribed: subscriber.subscribe(channel), close: () => subscriber.disconnect() };
  }

  /** A short-lived connection for one blocking wait (BLPOP); gives up after one retry. */
  createBlockingClient(): Redis {
    const client = new IORedis(this.config.REDIS_URL, { ...baseRedisOptions(), maxRetriesPerRequest: 1, enableOfflineQueue: true });
    client.on('error', () => undefined);
    return client;
  }

  /** Namespaced key: every key ZapHub writes goes through here. */
  key(...parts: string[]): string {
    return [this.prefix, ...parts].join(':');
  }

  async ping(timeoutMs = 2000): Promise<void> {
    await withTimeout(this.client.ping(), timeoutMs, 'redis ping timed out');
  }

  /** Idempotent. Runs after every worker is closed (WorkerRegistry closes them in beforeApplicationShutdown). */
  async close(): Promise<void> {
    if (this.client.status === 'end') return;
    await this.client.quit().catch(() => this.client.disconnect());
  }

  async onApplicationShutdown(): Promise<void> {
    await this.close();
  }
}

export function baseRedisOptions(): RedisOptions {
  return { connectTimeout: 5000, retryStrategy: (times) => Math.min(times * 200, 2000) };
}

/**
 * BullMQ connection options (queues and workers). Workers need blocking
 * commands that never give up (`maxRetriesPerRequest: null`); enqueueing fails
 * fast through QueuesService instead of through these options.
 */
export function bullConnection(config: AppConfig) {
  return {
    url: config.REDIS_URL,
    connectTimeout: 5000,
    retryStrategy: (times: number) => Math.min(times * 200, 2000),
    maxRetriesPerRequest: null,
  };
}

export async function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(message)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

@Global()
@Module({ providers: [RedisService], exports: [RedisService] })
export class RedisModule {}
