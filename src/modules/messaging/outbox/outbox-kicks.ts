import { Inject, Injectable, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../../../config';
import { RedisLockService } from '../../../infra/locks/redis-lock.service';
import { BackgroundFailures } from '../../../infra/metrics/background-failures';
import { SessionChannels } from '../../sessions/session-channels';
import { SessionHooks } from '../../sessions/session-hooks';
import { MessageRepository } from '../message.repository';
import { BacklogWarnings } from './backlog-warnings';
import { ChatDrains } from './chat-drains';
import { OutboxHints } from './outbox-hints';
import { OutboxRepository } from './outbox.repository';

/** Chats looked up per pass at most (bounded work; the next pass goes on). */
const BATCH = 1000;
/** A PROCESSING row older than this has lost its worker: the send timeout is 30 s. */
const STALE_LOCK_MS = 120_000;

/**
 * What starts drains on a worker, besides nothing: the hints addressed to it
 * (a message accepted for a session it owns), its sessions becoming WORKING
 * (their pending chats), and a timer every MESSAGE_RECONCILE_INTERVAL_MS for
 * whatever a hint missed (Redis down at accept time, a retry timer lost with
 * a restart). The timer also gives stale PROCESSING rows back (their worker
 * died mid-send) and warns of sessions whose backlog crossed
 * WARN_PENDING_PER_SESSION, one replica at a time (Redis lock). Registers messaging's
 * SentMessageStore with the sessions runtime.
 */
@Injectable()
export class OutboxKicks implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private unlisten: (() => void) | null = null;
  private unhook: (() => void) | null = null;
  private timer: NodeJS.Timeout | null = null;
  private readonly backlog: BacklogWarnings;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly drains: ChatDrains,
    private readonly hints: OutboxHints,
    private readonly outbox: OutboxRepository,
    private readonly messages: MessageRepository,
    private readonly channels: SessionChannels,
    private readonly hooks: SessionHooks,
    private readonly locks: RedisLockService,
    private readonly background: BackgroundFailures,
  ) {
    this.backlog = new BacklogWarnings(config.WARN_PENDING_PER_SESSION);
  }

  onApplicationBootstrap(): void {
    this.hooks.setSentMessageStore({ contentOf: (sessionId, waMessageId) => this.messages.contentOf(sessionId, waMessageId) });
    this.unlisten = this.hints.listen((chat) => this.drains.request(chat.sessionId, chat.chatId));
    this.unhook = this.hooks.onSessionWorking((session) => this.adopted(session.id));
    this.timer = setInterval(() => this.background.track('outbox reconcile', this.tick()), this.config.MESSAGE_RECONCILE_INTERVAL_MS);
    this.timer.unref();
  }

  beforeApplicationShutdown(): void {
    this.unlisten?.();
    this.unhook?.();
    if (this.timer) clearInterval(this.timer);
  }

  /**
   * One pass: stale locks back to PENDING and the backlog warnings
   * (cluster-wide, under a lock), then this worker's pending chats.
   */
  async tick(): Promise<void> {
    await this.locks.runExclusive('outbox-stale-locks', 30_000, async () => {
      await this.outbox.resetStale(new Date(Date.now() - STALE_LOCK_MS), BATCH);
      this.backlog.update(await this.outbox.crowdedSessions(this.config.WARN_PENDING_PER_SESSION));
    });
    await this.kick(this.channels.workingHere());
  }

  /**
   * A session became WORKING here: sends its previous owner left claimed go
   * back to the queue at once (not after the stale-lock delay), then its
   * pending chats are drained.
   */
  async adopted(sessionId: string): Promise<void> {
    await this.outbox.releaseForeignLocks(sessionId, this.config.INSTANCE_ID);
    await this.kick([sessionId]);
  }

  /** Asks for a drain of every chat of these sessions with a message due. */
  async kick(sessionIds: string[]): Promise<void> {
    const chats = await this.outbox.pendingChats(sessionIds, new Date(), BATCH);
    for (const chat of chats) this.drains.request(chat.sessionId, chat.chatId);
  }
}
