import { createHash, randomUUID } from 'node:crypto';
import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../../config';
import { OUTBOUND_URL_GUARD, type OutboundUrlGuard } from '../../infra/outbound-url/outbound-url-guard';
import { ConflictError, NotFoundError, UnprocessableError, ValidationError } from '../../common/errors/domain-errors';
import { afterCommit, TransactionRunner } from '../../infra/prisma/transaction';
import { SessionHooks } from '../sessions/session-hooks';
import { SessionsService } from '../sessions/sessions.service';
import { toChatId } from './chat-id';
import { checkMessageRequest, type RequestedContent } from './message-request';
import { toStoredMedia, type StoredContent } from './media/media-content';
import { GroupCommit } from './inbound/group-commit';
import { MessageRepository, type AcceptedOutbound, type AcceptResult, type MediaFile } from './message.repository';
import { MessagingMetrics } from './messaging-metrics';
import { inViewOrder, toMessageView } from './message.view';
import type { MessagePageView, MessagesQueryDto, MessageView, SendMessageDto } from './messages.dto';
import { OutboxHints } from './outbox/outbox-hints';
import { OutboxRepository } from './outbox/outbox.repository';
import { requestHash } from './request-hash';
import { waMessageIdFor } from './wa-message-id';

/** How long an Idempotency-Key answers with its first response. */
export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;

/**
 * Outbound messages: accepted durably (the Message, its outbox row and the
 * Idempotency-Key in one transaction, then a hint to the session's owner),
 * read, listed, retried and canceled. Sending is the drains' business
 * (outbox/chat-drains.ts), on the session's owner.
 */
/**
 * Accepts of concurrent requests share one statement: those that arrive
 * while earlier ones are being written go together in the next (at most this
 * many, and this many statements at once: the pool has 10 connections).
 */
const ACCEPTS_PER_STATEMENT = 100;
const ACCEPT_STATEMENTS_IN_FLIGHT = 5;

@Injectable()
export class MessagesService implements OnModuleInit {
  private readonly accepts = new GroupCommit<AcceptedOutbound, AcceptResult>((batch) => this.messages.acceptMany(batch, IDEMPOTENCY_TTL_MS), {
    maxBatch: ACCEPTS_PER_STATEMENT,
    maxInFlight: ACCEPT_STATEMENTS_IN_FLIGHT,
  });

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(OUTBOUND_URL_GUARD) private readonly guard: OutboundUrlGuard,
    private readonly sessions: SessionsService,
    private readonly hooks: SessionHooks,
    private readonly messages: MessageRepository,
    private readonly outbox: OutboxRepository,
    private readonly transactions: TransactionRunner,
    private readonly hints: OutboxHints,
    private readonly metrics: MessagingMetrics,
  ) {}

  /** A session's deletion cancels its queued messages (in the deletion's transaction). */
  onModuleInit(): void {
    this.hooks.setQueuedMessages({
      cancelAll: async (tx, sessionId) => {
        const canceled = await this.outbox.cancelAllOfSession(tx, sessionId);
        afterCommit(tx, () => this.metrics.outbound('CANCELED', canceled));
        return canceled;
      },
    });
  }

  async send(sessionName: string, body: SendMessageDto, idempotencyKey?: string): Promise<MessageView> {
    const checked = checkMessageRequest(body, { mediaMaxBytes: this.config.MEDIA_MAX_BYTES });
    if (!checked.ok) throw new ValidationError('Invalid message', checked.errors);
    const hash = idempotencyKey === undefined ? null : requestHash(body);
    // The session's id is looked up first only when something must be read before the accept (a
    // repeat's first response, a quoted or reacted-to message); a plain send finds the session
    // in its one accept statement.
    const sessionId = hash !== null || body.replyTo !== undefined || checked.content.type === 'reaction' ? await this.sessions.idOf(sessionName) : null;
    if (idempotencyKey !== undefined && hash !== null && sessionId !== null) {
      // A repeat answers before anything else is looked at (the first request passed the same checks).
      const replay = await this.replay(sessionId, idempotencyKey, hash);
      if (replay) return replay;
    }
    const { content, file } = await this.resolve(sessionId, checked.chatId, checked.content);
    if (body.replyTo !== undefined && sessionId !== null) await this.requireInSession(sessionId, body.replyTo, 'replyTo');
    const id = randomUUID();
    const at = new Date();
    const text = content.type === 'text' ? content.text : 'caption' in content ? (content.caption ?? null) : null;
    // The view is built before the row exists: the statement stores exactly these values.
    const view = queuedView({ id, sessionName, chatId: checked.chatId, type: body.type, text, at });
    const accepted: AcceptedOutbound = {
      id,
      sessionName,
      chatId: checked.chatId,
      type: body.type,
      text,
      content,
      replyToId: body.replyTo ?? null,
      at,
      ...(file ? { file } : {}),
      ...(idempotencyKey !== undefined && hash !== null
        ? { idempotency: { key: idempotencyKey, requestHash: hash, response: view, expiredBefore: new Date(at.getTime() - IDEMPOTENCY_TTL_MS) } }
        : {}),
    };
    // A file goes in its own statement (its bytes are no batch's business); the rest share one.
    const result = file ? await this.messages.accept(accepted) : await this.accepts.submit(accepted);
    if (result.sessionId === null) throw new NotFoundError(`Session "${sessionName}" not found`);
    if (!result.created) {
      // A concurrent request with the same key committed first: answer as a repeat.
      const replay = idempotencyKey !== undefined && hash !== null ? await this.replay(result.sessionId, idempotencyKey, hash) : null;
      if (replay) return replay;
      throw new ConflictError('This Idempotency-Key is in use by a request that has not finished; try again');
    }
    this.metrics.outbound('QUEUED');
    await this.hints.chatPending({ sessionId: result.sessionId, chatId: checked.chatId });
    return view;
  }

  async get(id: string): Promise<MessageView> {
    const message = await this.messages.find(id);
    if (!message) throw new NotFoundError(`Message ${id} not found`);
    return toMessageView(message);
  }

  async list(sessionName: string, query: MessagesQueryDto): Promise<MessagePageView> {
    const sessionId = await this.sessions.idOf(sessionName);
    let chatId: string | undefined;
    if (query.chatId !== undefined) {
      chatId = toChatId(query.chatId) ?? undefined;
      if (!chatId) throw new ValidationError('Invalid query', [{ field: 'chatId', message: 'chatId must be a phone number or a JID' }]);
    }
    const limit = query.limit ?? 50;
    const items = await this.messages.list(sessionId, { chatId, direction: query.direction, status: query.status }, query.cursor ? BigInt(query.cursor) : null, limit);
    return { items: items.map(toMessageView), nextCursor: items.length === limit ? String(items[items.length - 1]!.seq) : null };
  }

  async retry(id: string): Promise<MessageView> {
    const message = await this.messages.find(id);
    if (!message) throw new NotFoundError(`Message ${id} not found`);
    const result = await this.transactions.run(async (tx) => {
      await this.sessions.lockVisible(tx, message.sessionId, message.sessionName);
      return this.outbox.requeue(tx, id);
    });
    if (result.kind === 'missing') throw new NotFoundError(`Message ${id} not found`);
    if (result.kind === 'conflict') throw new ConflictError(`Only a FAILED or EXPIRED message can be retried (it is ${result.status})`);
    await this.hints.chatPending({ sessionId: result.message.sessionId, chatId: result.message.chatId });
    return toMessageView(result.message);
  }

  async cancel(id: string): Promise<MessageView> {
    const result = await this.outbox.cancel(id);
    if (result.kind === 'missing') throw new NotFoundError(`Message ${id} not found`);
    if (result.kind === 'conflict') throw new ConflictError(`The message cannot be canceled: ${result.reason}`);
    this.metrics.outbound('CANCELED');
    return toMessageView(result.message);
  }

  /** The stored first response when `key` was used with this body; 422 when with another; null when unused. */
  private async replay(sessionId: string, key: string, hash: string): Promise<MessageView | null> {
    const stored = await this.messages.findIdempotencyKey(sessionId, key);
    if (!stored || stored.createdAt.getTime() < Date.now() - IDEMPOTENCY_TTL_MS) return null;
    if (stored.requestHash !== hash) throw new UnprocessableError('This Idempotency-Key was already used with a different request body');
    return inViewOrder(stored.response as MessageView);
  }

  /**
   * The content to store: a reaction's target becomes its WhatsApp id; a
   * media URL must pass the SSRF guard now (400 when refused, 503 when DNS
   * does not answer), and base64 bytes go to the Media table.
   */
  private async resolve(sessionId: string | null, chatId: string, content: RequestedContent): Promise<{ content: StoredContent; file?: MediaFile }> {
    if ('source' in content) {
      if ('url' in content.source) {
        await this.guard.assertAllowed(content.source.url, 'media.url');
        return { content: toStoredMedia(content) };
      }
      const data = content.source.data;
      const file = { mimetype: content.mimetype, filename: content.filename ?? null, size: data.length, sha256: createHash('sha256').update(data).digest('hex'), data };
      return { content: toStoredMedia(content), file };
    }
    if (content.type !== 'reaction') return { content };
    if (sessionId === null) throw new Error('a reaction is resolved with its session id (send() looks it up first)');
    const target = await this.requireInSession(sessionId, content.targetMessageId, 'reaction.messageId');
    if (target.chatId !== chatId) {
      throw new ValidationError('Invalid message', [{ field: 'reaction.messageId', message: `the message reacted to is in another chat (${target.chatId}): send the reaction to that chat` }]);
    }
    const fromMe = target.direction === 'outbound';
    // An outbound message's WhatsApp id is known before it is sent (derived from its id).
    const targetWaMessageId = target.waMessageId ?? (fromMe ? waMessageIdFor(target.id) : null);
    if (!targetWaMessageId) throw new ValidationError('Invalid message', [{ field: 'reaction.messageId', message: 'the message reacted to has no WhatsApp id' }]);
    return { content: { type: 'reaction', targetWaMessageId, targetFromMe: fromMe, emoji: content.emoji } };
  }

  private async requireInSession(sessionId: string, id: string, field: string) {
    const message = await this.messages.findInSession(sessionId, id);
    if (!message) throw new ValidationError('Invalid message', [{ field, message: `${field} is not a message of this session` }]);
    return message;
  }
}

/** The view of a message just accepted: what the accept statement stores for it. */
function queuedView(m: { id: string; sessionName: string; chatId: string; type: string; text: string | null; at: Date }): MessageView {
  return toMessageView({
    id: m.id,
    sessionName: m.sessionName,
    chatId: m.chatId,
    direction: 'outbound',
    type: m.type,
    status: 'QUEUED',
    text: m.text,
    attempts: 0,
    error: null,
    waMessageId: null,
    createdAt: m.at,
    sentAt: null,
    deliveredAt: null,
    readAt: null,
  });
}
