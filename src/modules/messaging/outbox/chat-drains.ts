import { Inject, Injectable, Logger, type BeforeApplicationShutdown } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../../../config';
import { EventLog } from '../../../infra/events/event-log';
import { BackgroundFailures } from '../../../infra/metrics/background-failures';
import { afterCommit, TransactionRunner } from '../../../infra/prisma/transaction';
import { withTimeout } from '../../../infra/redis/redis.module';
import type { QuotedMessage } from '../../sessions/engine/whatsapp-engine.port';
import { SessionChannels, SessionNotReadyError, type SessionChannel } from '../../sessions/session-channels';
import type { HumanizeConfig } from '../../sessions/session.types';
import { SessionsService } from '../../sessions/sessions.service';
import { MessageRepository, type MessageRecord } from '../message.repository';
import { MessagingMetrics } from '../messaging-metrics';
import { toMessageView } from '../message.view';
import { waMessageIdFor } from '../wa-message-id';
import { GroupCommit } from '../inbound/group-commit';
import { OutboxRepository, type ClaimedItem, type SentItem } from './outbox.repository';
import { SendRateLimiter } from './send-rate-limiter';
import { FlowTracker } from '../flows/flow-tracker';
import { MediaFetchError } from '../media/media-fetcher';
import { OutboundMedia } from '../media/outbound-media';

/** A send that has not answered by then counts as failed (it is retried with the same WhatsApp id). */
const SEND_TIMEOUT_MS = 30_000;
/** How soon a chat is asked for again when the rate limiter could not answer (Redis down). */
const LIMITER_RETRY_MS = 1000;
/** Received messages marked read in one receipt at most (older ones stay unread: a person scrolls too). */
const UNREAD_MARKED_AT_ONCE = 100;
/** Retry n waits RETRY_BASE_MS * 2^(n-1). */
const RETRY_BASE_MS = 2000;
/** Sends recorded per transaction at most, and such transactions at once (the pool has 10 connections, shared). */
const SENT_RECORDS_PER_BATCH = 100;
const SENT_BATCHES_IN_FLIGHT = 2;

/**
 * Drains on the session's owner: one drain per (session, chat) at a time,
 * sending the chat's rows one after the other in acceptance order; different
 * chats in parallel, up to QUEUE_MESSAGE_SEND_CONCURRENCY. A drain stops when
 * the chat is empty, when its head waits for a retry (a timer asks again at
 * that time), or when the session does not work here any more (the row goes
 * back as it was; the new owner sends it).
 *
 * Per message: claim the head (PROCESSING, this worker as owner) → a permit
 * of the session's rate limit (none: the row goes back as it was and the chat
 * is asked for again when the window frees) → with humanize on, the gap after
 * the chat's previous message and "typing..." → send with
 * the WhatsApp id derived from the message id → one transaction: Message
 * SENT, message.sent, stats, outbox row deleted. A failure is an attempt:
 * retried with backoff on the row (availableAt) until
 * QUEUE_MESSAGE_SEND_ATTEMPTS, then FAILED with message.failed, and the chat
 * goes on.
 */
@Injectable()
export class ChatDrains implements BeforeApplicationShutdown {
  private readonly logger = new Logger(ChatDrains.name);
  private readonly running = new Map<string, Promise<void>>();
  /** Chats asked for again while their drain ran: it looks once more when it ends. */
  private readonly again = new Set<string>();
  /** Chats waiting for a drain slot, in the order they asked. */
  private readonly waiting: string[] = [];
  private readonly waitingSet = new Set<string>();
  private readonly timers = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  private readonly concurrency: number;
  private readonly maxAttempts: number;
  private stopped = false;
  /** Pauses under way (typing, the gap between two messages of a chat): shutdown ends them. */
  private readonly pauses = new Set<() => void>();
  /** Sends waiting to be recorded: those that finish while a batch commits go together in the next. */
  private readonly sentRecords = new GroupCommit<SentItem & { createdAt: Date }, void>((batch) => this.recordSent(batch), {
    maxBatch: SENT_RECORDS_PER_BATCH,
    maxInFlight: SENT_BATCHES_IN_FLIGHT,
  });

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly channels: SessionChannels,
    private readonly outbox: OutboxRepository,
    private readonly messages: MessageRepository,
    private readonly sessions: SessionsService,
    private readonly log: EventLog,
    private readonly transactions: TransactionRunner,
    private readonly background: BackgroundFailures,
    private readonly metrics: MessagingMetrics,
    private readonly limiter: SendRateLimiter,
    private readonly flows: FlowTracker,
    private readonly media: OutboundMedia,
  ) {
    this.concurrency = config.QUEUE_MESSAGE_SEND_CONCURRENCY;
    this.maxAttempts = config.QUEUE_MESSAGE_SEND_ATTEMPTS;
  }

  /** Stops starting drains and waits for the running ones (each ends after its current send). */
  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    for (const end of [...this.pauses]) end();
    for (const { timer } of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    this.waiting.length = 0;
    this.waitingSet.clear();
    while (this.running.size) await Promise.all([...this.running.values()]);
    await this.sentRecords.idle();
  }

  /** Asks for a drain of the chat (deduplicated: one per chat, a second ask looks again after it). */
  request(sessionId: string, chatId: string): void {
    if (this.stopped) return;
    const key = `${sessionId} ${chatId}`;
    if (this.running.has(key)) {
      this.again.add(key);
      return;
    }
    if (this.waitingSet.has(key)) return;
    this.waitingSet.add(key);
    this.waiting.push(key);
    this.startWaiting();
  }

  /** Drains running and waiting: the chats this worker is busy with. */
  get size(): { running: number; waiting: number } {
    return { running: this.running.size, waiting: this.waiting.length };
  }

  private startWaiting(): void {
    while (!this.stopped && this.running.size < this.concurrency && this.waiting.length) {
      const key = this.waiting.shift()!;
      this.waitingSet.delete(key);
      const [sessionId, chatId] = key.split(' ') as [string, string];
      const drain = this.drain(sessionId, chatId)
        .catch((error: unknown) => this.background.record('message drain', error))
        .finally(() => {
          this.running.delete(key);
          if (this.again.delete(key)) this.request(sessionId, chatId);
          this.startWaiting();
        });
      this.running.set(key, drain);
    }
  }

  /** One drain of one chat, tracked as a flow from start to end. */
  private async drain(sessionId: string, chatId: string): Promise<void> {
    const channel = this.channels.get(sessionId);
    if (!channel) return;
    const flow = this.flows.start(channel.sessionName);
    try {
      await this.drainChat(sessionId, chatId);
    } finally {
      this.flows.end(flow);
    }
  }

  private async drainChat(sessionId: string, chatId: string): Promise<void> {
    // Read once per drain: a PATCH of the config applies from the chat's next drain.
    const sending = await this.sessions.sendingConfigOf(sessionId);
    if (!sending) return;
    let lastSentAt = 0;
    while (!this.stopped) {
      const channel = this.channels.get(sessionId);
      if (!channel) return;
      const claim = await this.outbox.claimHead(sessionId, chatId, this.config.INSTANCE_ID, new Date());
      if (claim.kind === 'empty' || claim.kind === 'busy') return;
      if (claim.kind === 'later') {
        this.askAt(sessionId, chatId, claim.at);
        return;
      }
      // The session's window is full (or Redis cannot say): the message waits, as it was, until a permit frees.
      const wait = await this.limiter.take(sessionId, sending.rateLimitPerMinute).catch((error: unknown) => {
        this.background.record('message rate limit', error);
        return LIMITER_RETRY_MS;
      });
      if (wait > 0) {
        await this.outbox.release(claim.item, this.config.INSTANCE_ID);
        this.askAt(sessionId, chatId, new Date(Date.now() + wait));
        return;
      }
      if (sending.humanize.enabled && lastSentAt) await this.pause(lastSentAt + sending.humanize.chatGapMs - Date.now());
      const goOn = await this.sendOne(channel, claim.item, claim.message, sending.humanize);
      if (!goOn) return;
      lastSentAt = Date.now();
    }
  }

  /**
   * Like a person: "typing..." for a time in proportion to the text (within
   * min and max, jittered by up to 15 %), then "paused". A presence that
   * fails is not a failed send (it is cosmetic); a session that stopped
   * working here is (the caller releases the row).
   */
  private async typeLikeAPerson(channel: SessionChannel, message: MessageRecord, humanize: HumanizeConfig): Promise<void> {
    const length = message.text?.length ?? 0;
    const base = Math.min(Math.max(length * humanize.typingMsPerChar, humanize.minTypingMs), humanize.maxTypingMs);
    const typingMs = Math.round(Math.min(Math.max(base * (0.85 + Math.random() * 0.3), humanize.minTypingMs), humanize.maxTypingMs));
    try {
      await channel.sendPresence(message.chatId, 'composing');
      await this.pause(typingMs);
      await channel.sendPresence(message.chatId, 'paused');
    } catch (error) {
      if (error instanceof SessionNotReadyError) throw error;
      this.logger.debug({ err: error }, 'presence failed: sending anyway');
    }
  }

  /**
   * Like a person who answers: what the contact sent and nobody read yet is
   * marked read before "typing...". One-to-one chats only (a group read
   * receipt names each author, which the port does not carry). Cosmetic like
   * the presence: a failure is logged, not a failed send.
   */
  private async readChat(channel: SessionChannel, message: MessageRecord): Promise<void> {
    if (message.chatId.endsWith('@g.us')) return;
    try {
      const unread = await this.messages.unreadInbound(message.sessionId, message.chatId, UNREAD_MARKED_AT_ONCE);
      if (!unread.length) return;
      await channel.markRead(unread[0]!.chatJid, unread.map((m) => m.waMessageId));
      await this.messages.markReadByUs(unread.map((m) => m.id), new Date());
    } catch (error) {
      if (error instanceof SessionNotReadyError) throw error;
      this.logger.debug({ err: error }, 'marking the chat read failed: sending anyway');
    }
  }

  /** Waits `ms` (nothing when <= 0); shutdown ends every pause at once. */
  private pause(ms: number): Promise<void> {
    if (ms <= 0 || this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.pauses.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.pauses.add(done);
    });
  }

  /** One claimed message; false when the drain must stop (the session stopped working here, or a retry waits). */
  private async sendOne(channel: SessionChannel, item: ClaimedItem, message: MessageRecord, humanize?: HumanizeConfig): Promise<boolean> {
    let waMessageId: string;
    try {
      if (humanize?.enabled) {
        await this.readChat(channel, message);
        await this.typeLikeAPerson(channel, message, humanize);
      }
      const quoted = message.replyToId ? await this.quotedOf(message) : undefined;
      const content = await this.media.contentToSend(message);
      ({ waMessageId } = await withTimeout(
        this.flows.track(channel.send(message.chatId, content, { waMessageId: waMessageIdFor(message.id), quoted })),
        SEND_TIMEOUT_MS,
        `send timed out after ${SEND_TIMEOUT_MS} ms`,
      ));
    } catch (error) {
      return this.sendFailed(item, message, error);
    }
    // Sent. Recording it is not part of the attempt: if it fails (PostgreSQL down), the error ends
    // the drain with the row still PROCESSING; the stale-lock reset gives it back and it goes again
    // with the same WhatsApp id, a copy the phone drops, never a second message or a false FAILED.
    await this.sentRecords.submit({ item, waMessageId, at: new Date(), createdAt: message.createdAt });
    return true;
  }

  /**
   * Records a batch of sends (the drains that finished while the previous
   * batch committed) in ONE transaction of three statements: the messages
   * SENT and their outbox rows deleted, the sessions' `sent` stats, their
   * message.sent events. Rows are locked in the order every batch writer
   * uses (messages, then sessions, then event counters, each in id order),
   * so batches never wait on each other in a cycle.
   */
  private async recordSent(batch: Array<SentItem & { createdAt: Date }>): Promise<void[]> {
    await this.transactions.run(async (tx) => {
      const records = await this.outbox.markSentMany(tx, this.config.INSTANCE_ID, batch);
      const counts = new Map<string, number>();
      for (const record of records) counts.set(record.sessionId, (counts.get(record.sessionId) ?? 0) + 1);
      await this.sessions.countSendsMany(tx, 'sent', counts);
      await this.log.appendMany(
        tx,
        records.map((record) => ({ sessionId: record.sessionId, sessionName: record.sessionName, type: 'message.sent', data: { ...toMessageView(record) } })),
      );
      afterCommit(tx, () => {
        for (const sent of batch) this.metrics.sent(sent.createdAt, sent.at);
      });
    });
    return batch.map(() => undefined);
  }

  /** A failed attempt: released (not an attempt) when the session stopped working here, else retried or FAILED. */
  private async sendFailed(item: ClaimedItem, message: MessageRecord, error: unknown): Promise<boolean> {
    const owner = this.config.INSTANCE_ID;
    if (error instanceof SessionNotReadyError) {
      await this.outbox.release(item, owner);
      return false;
    }
    const reason = error instanceof Error ? error.message : String(error);
    // A file that cannot be had (refused, 4xx, too large) will not be had on a retry either.
    const attempts = error instanceof MediaFetchError && error.permanent ? this.maxAttempts : item.attempts + 1;
    if (attempts >= this.maxAttempts) {
      await this.transactions.run(async (tx) => {
        const failed = await this.outbox.markFailed(tx, item, owner, reason);
        if (!failed) return;
        afterCommit(tx, () => this.metrics.outbound('FAILED'));
        await this.sessions.countSend(tx, message.sessionId, 'failed');
        await this.log.append(tx, { sessionId: message.sessionId, sessionName: message.sessionName, type: 'message.failed', data: { ...toMessageView(failed) } });
      });
      this.logger.warn({ session: message.sessionName, attempts, err: reason }, 'message failed for good: the chat goes on');
      return true;
    }
    const at = new Date(Date.now() + RETRY_BASE_MS * 2 ** (attempts - 1));
    await this.outbox.markRetry(item, owner, reason, at);
    this.askAt(message.sessionId, message.chatId, at);
    return false;
  }

  /** What a reply needs of the message it quotes (null when it is gone: sent without the quote). */
  private async quotedOf(message: MessageRecord): Promise<QuotedMessage | undefined> {
    const quoted = await this.messages.findInSession(message.sessionId, message.replyToId!);
    if (!quoted) return undefined;
    const fromMe = quoted.direction === 'outbound';
    const waMessageId = quoted.waMessageId ?? (fromMe ? waMessageIdFor(quoted.id) : null);
    return waMessageId ? { waMessageId, fromMe, participant: null, text: quoted.text } : undefined;
  }

  /** Asks for the chat again at `at` (the earliest time wins); the owner's timer covers a lost one. */
  private askAt(sessionId: string, chatId: string, at: Date): void {
    if (this.stopped) return;
    const key = `${sessionId} ${chatId}`;
    const existing = this.timers.get(key);
    if (existing && existing.at <= at.getTime()) return;
    if (existing) clearTimeout(existing.timer);
    const timer = setTimeout(
      () => {
        this.timers.delete(key);
        this.request(sessionId, chatId);
      },
      Math.max(0, at.getTime() - Date.now()),
    );
    timer.unref();
    this.timers.set(key, { at: at.getTime(), timer });
  }
}
