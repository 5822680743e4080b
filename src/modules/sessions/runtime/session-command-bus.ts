import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../../../config';
import { RedisService } from '../../../infra/redis/redis.module';

/**
 * Messages to the worker that owns a session. None of them carries state that
 * matters if lost: the wanted state and actions live on the Session row, and
 * `kick` only wakes the owner up to re-read it (its reconcile tick would find
 * it a few seconds later anyway). `reconnect` and `circuit-reset` are nudges of
 * a live socket; `pairing-code` is a request/reply the client waits for.
 */
export type SessionCommand =
  | { type: 'kick' | 'reconnect' | 'circuit-reset'; sessionId: string; target: string }
  | { type: 'pairing-code'; sessionId: string; target: string; phone: string; replyTo: string };

export type CommandReply = { ok: true; value: string } | { ok: false; status: number; message: string };

/**
 * Redis pub/sub transport of SessionCommand, addressed to an instance id (the
 * holder of the session's lease); request/reply commands answer on a
 * short-lived list the requester waits on. Every replica can publish; only
 * workers subscribe.
 */
@Injectable()
export class SessionCommandBus implements OnModuleDestroy {
  private readonly logger = new Logger(SessionCommandBus.name);
  private closeSubscription: (() => void) | null = null;
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
    const waiter = this.redis.createBlockingClient();
    try {
      const pending = waiter.blpop(replyTo, Math.max(1, Math.ceil(timeoutMs / 1000)));
      // If publishing fails, the wait is abandoned (disconnect below rejects it): never unhandled.
      pending.catch(() => undefined);
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

  /** Workers: receive the commands addressed to this instance. A failing handler is logged, never unhandled. */
  async subscribe(handler: (command: SessionCommand) => Promise<void>): Promise<void> {
    const subscription = this.redis.subscribe(this.channel, (raw) => {
      let command: SessionCommand;
      try {
        command = JSON.parse(raw) as SessionCommand;
      } catch {
        return;
      }
      if (command.target !== this.config.INSTANCE_ID) return;
      handler(command).catch((error: unknown) => this.logger.error({ err: error, command: command.type }, 'session command failed'));
    });
    this.closeSubscription = subscription.close;
    await subscription.subscribed;
  }

  async onModuleDestroy(): Promise<void> {
    this.closeSubscription?.();
    this.closeSubscription = null;
  }
}
