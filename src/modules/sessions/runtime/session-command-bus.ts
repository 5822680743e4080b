import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import IORedis, { type Redis } from 'ioredis';
import { APP_CONFIG, type AppConfig } from '../../../config';
import { RedisService } from '../../../infra/redis/redis.module';

/** Commands only the owner of a session's socket can carry out. */
export type SessionCommand =
  | { type: 'stop' | 'logout' | 'delete' | 'restart' | 'reconnect' | 'circuit-reset'; sessionId: string; target: string }
  | { type: 'pairing-code'; sessionId: string; target: string; phone: string; replyTo: string };

export type CommandReply = { ok: true; value: string } | { ok: false; status: number; message: string };

/**
 * Routes commands to the worker that owns a session (the holder of its lease)
 * over Redis pub/sub; request/reply commands answer on a short-lived list the
 * requester waits on. Every replica can publish; only workers subscribe.
 */
@Injectable()
export class SessionCommandBus implements OnModuleDestroy {
  private readonly logger = new Logger(SessionCommandBus.name);
  private subscriber: Redis | null = null;
  private readonly channel: string;

  constructor(
    private readonly redis: RedisService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    this.channel = redis.key('session-commands');
  }

  async publish(command: SessionCommand): Promise<void> {
    await this.redis.client.publish(this.channel, JSON.stringify(command));
  }

  /** Sends a request to the owner and waits for its reply (null on timeout). */
  async request(command: Omit<Extract<SessionCommand, { replyTo: string }>, 'replyTo'>, timeoutMs: number): Promise<CommandReply | null> {
    const replyTo = this.redis.key('session-reply', randomUUID());
    // BLPOP blocks its connection: use a short-lived one per request (rare calls).
    const waiter = this.redis.client.duplicate({ enableOfflineQueue: true, maxRetriesPerRequest: 1 });
    try {
      const pending = waiter.blpop(replyTo, Math.max(1, Math.ceil(timeoutMs / 1000)));
      await this.publish({ ...command, replyTo } as SessionCommand);
      const res = await pending;
      return res ? (JSON.parse(res[1]) as CommandReply) : null;
    } finally {
      waiter.disconnect();
    }
  }

  async reply(replyTo: string, reply: CommandReply): Promise<void> {
    await this.redis.client.multi().rpush(replyTo, JSON.stringify(reply)).pexpire(replyTo, 60_000).exec();
  }

  /** Workers: receive the commands addressed to this instance. */
  async subscribe(handler: (command: SessionCommand) => Promise<void>): Promise<void> {
    this.subscriber = new IORedis(this.config.REDIS_URL, { maxRetriesPerRequest: null, enableOfflineQueue: true });
    this.subscriber.on('error', () => undefined);
    this.subscriber.on('message', (_channel: string, raw: string) => {
      let command: SessionCommand;
      try {
        command = JSON.parse(raw) as SessionCommand;
      } catch {
        return;
      }
      if (command.target !== this.config.INSTANCE_ID) return;
      handler(command).catch((error: unknown) => this.logger.error({ err: error, command: command.type }, 'session command failed'));
    });
    await this.subscriber.subscribe(this.channel);
  }

  async onModuleDestroy(): Promise<void> {
    if (this.subscriber) {
      this.subscriber.disconnect();
      this.subscriber = null;
    }
  }
}
