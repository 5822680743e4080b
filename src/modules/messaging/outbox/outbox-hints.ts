import { Inject, Injectable } from '@nestjs/common';
import { LRUCache } from 'lru-cache';
import { APP_CONFIG, type AppConfig } from '../../../config';
import { BackgroundFailures } from '../../../infra/metrics/background-failures';
import { RedisService } from '../../../infra/redis/redis.module';
import { SessionOwnership } from '../../sessions/session-channels';

/**
 * How long a session's owner, once looked up, is reused for hints: a burst of
 * accepts for one session asks Redis once, not once per message. An owner that
 * changed meanwhile (a failover) misses at most this long of hints, which only
 * delays: the new owner kicks the session's pending chats when it takes it.
 */
const OWNER_CACHE_MS = 1000;

export interface PendingChat {
  sessionId: string;
  chatId: string;
}

/**
 * "This chat has a message to send": the hint that starts a drain on the
 * session's owner, and only there (sends go through the owner's socket).
 * The owner is looked up (its lease in Redis) and told on its own channel;
 * this process is told directly when it is the owner. A hint is never the
 * truth: with Redis down, or no owner yet, the row waits, and the owner's
 * timer and its "session became WORKING" kick find it.
 */
@Injectable()
export class OutboxHints {
  private local: ((chat: PendingChat) => void) | null = null;
  private readonly owners = new LRUCache<string, { owner: string }>({ max: 10_000, ttl: OWNER_CACHE_MS });

  constructor(
    private readonly redis: RedisService,
    private readonly ownership: SessionOwnership,
    private readonly background: BackgroundFailures,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  private channelOf(instanceId: string): string {
    return this.redis.key('outbox', instanceId);
  }

  /** Never throws: a lost hint only delays (see the class comment). */
  async chatPending(chat: PendingChat): Promise<void> {
    try {
      const owner = await this.ownerOf(chat.sessionId);
      if (!owner) return;
      if (owner === this.config.INSTANCE_ID && this.local) this.local(chat);
      else await this.redis.client.publish(this.channelOf(owner), JSON.stringify(chat));
    } catch (error) {
      this.background.record('outbox hint', error);
    }
  }

  private async ownerOf(sessionId: string): Promise<string | null> {
    const cached = this.owners.get(sessionId);
    if (cached) return cached.owner;
    const owner = await this.ownership.ownerOf(sessionId);
    // No owner is not kept: the session may start any moment, and its first hints must reach it.
    if (owner) this.owners.set(sessionId, { owner });
    return owner;
  }

  /** Worker side: receives the hints addressed to this instance until the returned function is called. */
  listen(handler: (chat: PendingChat) => void): () => void {
    this.local = handler;
    const subscription = this.redis.subscribe(this.channelOf(this.config.INSTANCE_ID), (raw) => {
      const chat = parse(raw);
      if (chat) handler(chat);
    });
    this.background.track('outbox hint subscription', subscription.subscribed);
    return () => {
      this.local = null;
      subscription.close();
    };
  }
}

function parse(raw: string): PendingChat | null {
  try {
    const value = JSON.parse(raw) as Partial<PendingChat>;
    return typeof value.sessionId === 'string' && typeof value.chatId === 'string' ? { sessionId: value.sessionId, chatId: value.chatId } : null;
  } catch {
    return null;
  }
}
