import { Logger } from '@nestjs/common';
import type { AppConfig } from '../../../config';
import type { EventLog } from '../../../infra/events/event-log';
import type { BackgroundFailures } from '../../../infra/metrics/background-failures';
import type { PrismaService } from '../../../infra/prisma/prisma.service';
import { TransactionRunner, type DbTransaction } from '../../../infra/prisma/transaction';
import { HealthInfoRegistry } from '../../../infra/health-info/health-info.registry';
import { Registry } from 'prom-client';
import type { MetricsRegistry } from '../../../infra/metrics/metrics.registry';
import { FlowTracker } from '../flows/flow-tracker';
import type { OutboundContent, SendOptions } from '../../sessions/engine/whatsapp-engine.port';
import { SessionNotReadyError } from '../../sessions/runtime/session-channel';
import type { SessionChannels } from '../../sessions/session-channels';
import type { SessionsService } from '../../sessions/sessions.service';
import type { MessageRecord, MessageRepository } from '../message.repository';
import type { MessagingMetrics } from '../messaging-metrics';
import type { MessageView } from '../messages.dto';
import { waMessageIdFor } from '../wa-message-id';
import { ChatDrains } from './chat-drains';
import type { ClaimedItem, HeadClaim, OutboxRepository, SentItem } from './outbox.repository';
import type { SendRateLimiter } from './send-rate-limiter';
import type { OutboundMedia } from '../media/outbound-media';

/**
 * ChatDrains against an in-memory outbox and a WhatsApp channel whose sends
 * end when the test says: a chat's messages leave one at a time in order,
 * each with the WhatsApp id derived from its message id, recorded as sent
 * (message.sent, stats); chats run in parallel up to
 * QUEUE_MESSAGE_SEND_CONCURRENCY; a second ask during a drain makes it look
 * again; a failed send is retried on the row's backoff without the chat's
 * next message overtaking it, and after QUEUE_MESSAGE_SEND_ATTEMPTS it is
 * FAILED (message.failed) and the chat goes on; a session that stopped working
 * here releases the row; a full rate-limit window releases the row until a
 * permit frees; a shutdown waits for the send in flight and starts nothing
 * more. Humanize is off here (its pauses are not what these tests are about).
 */

const OWNER = 'w1';
const SESSION = 's1';
const RATE_LIMIT = 20;

type RowStatus = 'PENDING' | 'PROCESSING' | 'FAILED';
interface Row {
  id: string;
  sessionId: string;
  chatId: string;
  message: MessageRecord;
  status: RowStatus;
  attempts: number;
  availableAt: Date;
  lockedBy: string | null;
  lastError: string | null;
}

/**
 * OutboxRepository's semantics on an array in seq order. Stricter than the
 * real one: changing a row the owner does not hold PROCESSING throws (no
 * stale-lock reset happens here, so that would be a ChatDrains bug).
 */
class FakeOutbox {
  readonly rows: Row[] = [];
  claims = 0;
  /** Sees every claim's answer before the drain does (to act "right then"). */
  onClaim: (claim: HeadClaim) => void = () => undefined;
  private seq = 0;

  /** A new QUEUED message at the back of its chat, due at once. */
  add(chatId: string, text: string): Row {
    const n = ++this.seq;
    const row: Row = { id: `row-${text}`, sessionId: SESSION, chatId, message: messageRecord(`msg-${text}`, n, chatId, text), status: 'PENDING', attempts: 0, availableAt: new Date(0), lockedBy: null, lastError: null };
    this.rows.push(row);
    return row;
  }

  async claimHead(sessionId: string, chatId: string, owner: string, now: Date): Promise<HeadClaim> {
    this.claims++;
    const claim = this.decide(sessionId, chatId, owner, now);
    this.onClaim(claim);
    return claim;
  }

  async markSentMany(_tx: DbTransaction, owner: string, sent: SentItem[]): Promise<MessageRecord[]> {
    return sent.map(({ item, waMessageId, at }) => {
      const row = this.held(item, owner);
      this.rows.splice(this.rows.indexOf(row), 1);
      return { ...row.message, status: 'SENT', waMessageId, sentAt: at, attempts: row.attempts + 1, error: null };
    });
  }

  async markRetry(item: ClaimedItem, owner: string, error: string, availableAt: Date): Promise<void> {
    Object.assign(this.held(item, owner), { status: 'PENDING', attempts: item.attempts + 1, lastError: error, availableAt, lockedBy: null });
  }

  async markFailed(_tx: DbTransaction, item: ClaimedItem, owner: string, error: string): Promise<MessageRecord | null> {
    const row = Object.assign(this.held(item, owner), { status: 'FAILED', attempts: item.attempts + 1, lastError: error, lockedBy: null });
    return { ...row.message, status: 'FAILED', attempts: row.attempts, error };
  }

  async release(item: ClaimedItem, owner: string): Promise<void> {
    Object.assign(this.held(item, owner), { status: 'PENDING', lockedBy: null });
  }

  private decide(sessionId: string, chatId: string, owner: string, now: Date): HeadClaim {
    const head = this.rows.find((r) => r.sessionId === sessionId && r.chatId === chatId && (r.status === 'PENDING' || r.status === 'PROCESSING'));
    if (!head) return { kind: 'empty' };
    if (head.status === 'PROCESSING') return { kind: 'busy' };
    if (head.availableAt.getTime() > now.getTime()) return { kind: 'later', at: head.availableAt };
    Object.assign(head, { status: 'PROCESSING', lockedBy: owner });
    return { kind: 'claimed', item: { id: head.id, messageId: head.message.id, attempts: head.attempts }, message: { ...head.message, status: 'SENDING' } };
  }

  private held(item: ClaimedItem, owner: string): Row {
    const row = this.rows.find((r) => r.id === item.id && r.lockedBy === owner && r.status === 'PROCESSING');
    if (!row) throw new Error(`row ${item.id} is not held by ${owner}`);
    return row;
  }
}

function messageRecord(id: string, seq: number, chatId: string, text: string): MessageRecord {
  const content: OutboundContent = { type: 'text', text };
  return {
    id,
    seq: BigInt(seq),
    sessionId: SESSION,
    sessionName: SESSION_NAME,
    chatId,
    direction: 'outbound',
    type: 'text',
    status: 'QUEUED',
    text,
    content,
    replyToId: null,
    attempts: 0,
    error: null,
    waMessageId: null,
    createdAt: new Date(0),
    sentAt: null,
    deliveredAt: null,
    readAt: null,
  };
}

interface Send {
  chatId: string;
  text: string;
  waMessageId: string | undefined;
  done: boolean;
  ok(): void;
  fail(error: Error): void;
}

/** The session's channel: records every send; a send is held until the test ends it, answers at once, or throws SessionNotReadyError. */
const SESSION_NAME = 'main';

class FakeChannel {
  readonly sessionName = SESSION_NAME;
  readonly sends: Send[] = [];
  answer: 'hold' | 'ok' | 'not-ready' = 'hold';
  maxInFlight = 0;
  maxInFlightPerChat = 0;

  send(chatId: string, content: OutboundContent, opts?: SendOptions): Promise<{ waMessageId: string }> {
    const text = content.type === 'text' ? content.text : '?';
    const waMessageId = opts?.waMessageId;
    if (this.answer === 'not-ready') {
      this.sends.push({ chatId, text, waMessageId, done: true, ok: () => undefined, fail: () => undefined });
      throw new SessionNotReadyError('s');
    }
    return new Promise((resolve, reject) => {
      const send: Send = {
        chatId,
        text,
        waMessageId,
        done: false,
        ok: () => {
          send.done = true;
          resolve({ waMessageId: waMessageId! });
        },
        fail: (error) => {
          send.done = true;
          reject(error);
        },
      };
      this.sends.push(send);
      this.maxInFlight = Math.max(this.maxInFlight, this.inFlight().length);
      this.maxInFlightPerChat = Math.max(this.maxInFlightPerChat, this.inFlight().filter((s) => s.chatId === chatId).length);
      if (this.answer === 'ok') send.ok();
    });
  }

  inFlight(): Send[] {
    return this.sends.filter((s) => !s.done);
  }

  texts(sends = this.sends): string[] {
    return sends.map((s) => s.text);
  }

  /** Ends the one send in flight of this text. */
  end(text: string, error?: Error): void {
    const send = this.inFlight().find((s) => s.text === text);
    if (!send) throw new Error(`no send of ${text} in flight (in flight: ${this.texts(this.inFlight()).join(', ')})`);
    if (error) send.fail(error);
    else send.ok();
  }
}

interface Appended {
  sessionId: string;
  sessionName: string;
  type: string;
  data: MessageView;
}

function setup({ concurrency = 5, attempts = 3 } = {}) {
  const outbox = new FakeOutbox();
  const channel = new FakeChannel();
  let live = true;
  const channels = { get: jest.fn((sessionId: string) => (live && sessionId === SESSION ? channel : null)) };
  const append = jest.fn(async (_tx: DbTransaction, _event: Appended) => ({}));
  /** The stats counted, in order: "session outcome" (" xN" for N at once). */
  const counted: string[] = [];
  // The drains append a batch at once: each event of it shows up as one append, in order.
  const log = { append, appendMany: jest.fn(async (tx: DbTransaction, events: Appended[]) => Promise.all(events.map((e) => append(tx, e)))) };
  const sessions = {
    countSend: jest.fn(async (_tx: DbTransaction, sessionId: string, outcome: 'sent' | 'failed') => {
      counted.push(`${sessionId} ${outcome}`);
    }),
    countSendsMany: jest.fn(async (_tx: DbTransaction, outcome: 'sent' | 'failed', counts: Map<string, number>) => {
      for (const [sessionId, n] of counts) counted.push(`${sessionId} ${outcome}${n > 1 ? ` x${n}` : ''}`);
    }),
    sendingConfigOf: async () => ({ rateLimitPerMinute: RATE_LIMIT, humanize: { enabled: false, typingMsPerChar: 50, minTypingMs: 500, maxTypingMs: 5000, chatGapMs: 1000 } }),
  };
  const messages = { findInSession: async () => null };
  // The real runner over a "database" whose transaction is the callback itself: afterCommit works.
  let transactionCount = 0;
  const transactions = new TransactionRunner({
    $transaction: async (fn: (tx: object) => Promise<unknown>) => {
      transactionCount++;
      return fn({});
    },
  } as unknown as PrismaService);
  const metrics = { sent: jest.fn(), outbound: jest.fn() };
  /** The rate limiter: a permit (0) unless the test queues waits. */
  const limiterWaits: number[] = [];
  const limiter = { take: jest.fn(async (_sessionId: string, _limit: number) => limiterWaits.shift() ?? 0) };
  const failures: unknown[] = [];
  const background = { record: (_task: string, error: unknown) => failures.push(error) };
  // The real tracker: its numbers are checked where drains start and end.
  const flows = new FlowTracker({ FLOW_TTL_MS: 300_000 } as AppConfig, { registry: new Registry() } as MetricsRegistry, new HealthInfoRegistry());
  const drains = new ChatDrains(
    { QUEUE_MESSAGE_SEND_CONCURRENCY: concurrency, QUEUE_MESSAGE_SEND_ATTEMPTS: attempts, INSTANCE_ID: OWNER } as AppConfig,
    channels as unknown as SessionChannels,
    outbox as unknown as OutboxRepository,
    messages as unknown as MessageRepository,
    sessions as unknown as SessionsService,
    log as unknown as EventLog,
    transactions,
    background as unknown as BackgroundFailures,
    metrics as unknown as MessagingMetrics,
    limiter as unknown as SendRateLimiter,
    flows,
    { contentToSend: async (m: { content: unknown }) => m.content } as unknown as OutboundMedia,
  );
  return {
    drains,
    outbox,
    channel,
    channels,
    log,
    sessions,
    metrics,
    limiter,
    limiterWaits,
    failures,
    flows,
    setLive: (value: boolean) => (live = value),
    /** Transactions run so far. */
    transactions: () => transactionCount,
    /** The appended events as "type text", in order. */
    events: () => log.append.mock.calls.map(([, e]) => `${e.type} ${e.data.text}`),
    /** The countSend outcomes, in order. */
    counts: () => counted,
    ask: (chatId: string) => drains.request(SESSION, chatId),
  };
}

/** Lets the drains' promises settle (no timers involved). */
async function flush(): Promise<void> {
  for (let i = 0; i < 50; i++) await new Promise((resolve) => setImmediate(resolve));
}

/** Fake clock for the retry timers; setImmediate stays real so flush() works. */
function fakeClock(): void {
  jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick'] });
}

beforeEach(() => {
  // "message failed for good" is expected here.
  jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
});

afterEach(() => {
  jest.useRealTimers();
  jest.restoreAllMocks();
});

describe('ChatDrains', () => {
  it("sends a chat's messages one at a time in acceptance order, with the WhatsApp id of each message id, and records each as sent", async () => {
    const h = setup();
    const rows = ['a1', 'a2', 'a3'].map((text) => h.outbox.add('chatA', text));
    h.ask('chatA');
    for (const [i, row] of rows.entries()) {
      await flush();
      expect(h.channel.texts(h.channel.inFlight())).toEqual([row.message.text]);
      // Recorded only once WhatsApp answered.
      expect(h.events()).toHaveLength(i);
      h.channel.end(row.message.text!);
    }
    await flush();
    expect(h.channel.sends.map((s) => [s.chatId, s.text, s.waMessageId])).toEqual(rows.map((r) => ['chatA', r.message.text, waMessageIdFor(r.message.id)]));
    expect(h.channel.maxInFlightPerChat).toBe(1);
    expect(h.events()).toEqual(['message.sent a1', 'message.sent a2', 'message.sent a3']);
    expect(h.log.append.mock.calls.map(([, e]) => e)).toEqual(
      rows.map((r) => expect.objectContaining({ sessionId: SESSION, sessionName: 'main', data: expect.objectContaining({ id: r.message.id, status: 'SENT', waMessageId: waMessageIdFor(r.message.id) }) })),
    );
    expect(h.counts()).toEqual(['s1 sent', 's1 sent', 's1 sent']);
    expect(h.metrics.sent).toHaveBeenCalledTimes(3);
    expect(h.outbox.rows).toEqual([]);
    expect(h.drains.size).toEqual({ running: 0, waiting: 0 });
    expect(h.failures).toEqual([]);
  });

  it('records sends that end together in one transaction, with each one\'s event and the stat counted once', async () => {
    const h = setup();
    for (const chat of ['chatA', 'chatB', 'chatC']) {
      h.outbox.add(chat, `${chat}-1`);
      h.ask(chat);
    }
    await flush();
    expect(h.channel.inFlight()).toHaveLength(3);
    const before = h.transactions();
    for (const chat of ['chatA', 'chatB', 'chatC']) h.channel.end(`${chat}-1`);
    await flush();
    expect(h.transactions() - before).toBe(1);
    expect(h.events().sort()).toEqual(['message.sent chatA-1', 'message.sent chatB-1', 'message.sent chatC-1']);
    expect(h.counts()).toEqual([`${SESSION} sent x3`]);
    expect(h.metrics.sent).toHaveBeenCalledTimes(3);
    expect(h.outbox.rows).toEqual([]);
  });

  it('tracks each drain as a flow of its session while it runs, and each send as a pending promise', async () => {
    const h = setup();
    h.outbox.add('chatA', 'a1');
    h.outbox.add('chatB', 'b1');
    h.ask('chatA');
    h.ask('chatB');
    await flush();
    expect(h.flows.view()).toMatchObject({ active: 2, pendingPromises: 2, bySession: { [SESSION_NAME]: 2 } });
    h.channel.end('a1');
    h.channel.end('b1');
    await flush();
    expect(h.flows.view()).toMatchObject({ active: 0, pendingPromises: 0, bySession: {}, expiredTotal: 0 });
  });

  it('drains different chats in parallel up to the concurrency; a waiting chat starts when a drain ends', async () => {
    const h = setup({ concurrency: 2 });
    h.outbox.add('chatA', 'a1');
    h.outbox.add('chatB', 'b1');
    h.outbox.add('chatB', 'b2');
    h.outbox.add('chatC', 'c1');
    h.ask('chatA');
    h.ask('chatB');
    h.ask('chatC');
    await flush();
    expect(h.channel.texts(h.channel.inFlight())).toEqual(['a1', 'b1']);
    expect(h.drains.size).toEqual({ running: 2, waiting: 1 });

    // b1 ends but chat B's drain goes on with b2: it keeps its slot.
    h.channel.end('b1');
    await flush();
    expect(h.channel.texts(h.channel.inFlight())).toEqual(['a1', 'b2']);
    expect(h.drains.size).toEqual({ running: 2, waiting: 1 });

    // Chat A is empty after a1: its drain ends and chat C takes the slot.
    h.channel.end('a1');
    await flush();
    expect(h.channel.texts(h.channel.inFlight())).toEqual(['b2', 'c1']);
    expect(h.drains.size).toEqual({ running: 2, waiting: 0 });

    h.channel.end('b2');
    h.channel.end('c1');
    await flush();
    expect(h.channel.texts()).toEqual(['a1', 'b1', 'b2', 'c1']);
    expect(h.channel.maxInFlight).toBe(2);
    expect(h.outbox.rows).toEqual([]);
    expect(h.drains.size).toEqual({ running: 0, waiting: 0 });
    expect(h.failures).toEqual([]);
  });

  it('starts no second drain for a chat whose drain runs, but looks once more when it ends', async () => {
    const h = setup();
    h.outbox.add('chatA', 'a1');
    h.ask('chatA');
    await flush();
    h.ask('chatA');
    h.ask('chatA');
    await flush();
    expect(h.channel.texts(h.channel.inFlight())).toEqual(['a1']);
    expect(h.outbox.claims).toBe(1);
    expect(h.drains.size).toEqual({ running: 1, waiting: 0 });

    h.channel.end('a1');
    await flush();
    // The drain's own look (empty), then one more for the asks made meanwhile (empty too).
    expect(h.outbox.claims).toBe(3);
    expect(h.channel.texts()).toEqual(['a1']);
    expect(h.drains.size).toEqual({ running: 0, waiting: 0 });
    expect(h.failures).toEqual([]);
  });

  it('sends a message accepted after the drain found the chat empty but before the drain ended', async () => {
    const h = setup();
    h.outbox.add('chatA', 'a1');
    let accepted = false;
    h.outbox.onClaim = (claim) => {
      if (claim.kind !== 'empty' || accepted) return;
      // Right after the drain's last look: a new message and its ask, while the drain still runs.
      accepted = true;
      h.outbox.add('chatA', 'a2');
      h.ask('chatA');
    };
    h.ask('chatA');
    await flush();
    h.channel.end('a1');
    await flush();
    expect(accepted).toBe(true);
    expect(h.channel.texts(h.channel.inFlight())).toEqual(['a2']);
    h.channel.end('a2');
    await flush();
    expect(h.channel.texts()).toEqual(['a1', 'a2']);
    expect(h.events()).toEqual(['message.sent a1', 'message.sent a2']);
    expect(h.outbox.rows).toEqual([]);
    expect(h.failures).toEqual([]);
  });

  it("retries a failed send at the row's backoff time with the same WhatsApp id, the chat's next message waiting behind it", async () => {
    fakeClock();
    const h = setup({ attempts: 3 });
    const a1 = h.outbox.add('chatA', 'a1');
    h.outbox.add('chatA', 'a2');
    h.ask('chatA');
    await flush();
    const failedAt = Date.now();
    h.channel.end('a1', new Error('socket closed'));
    await flush();
    expect(a1).toMatchObject({ status: 'PENDING', attempts: 1, lockedBy: null, lastError: 'socket closed' });
    expect(a1.availableAt.getTime()).toBe(failedAt + 2000);
    expect(h.channel.texts()).toEqual(['a1']);
    expect(h.drains.size).toEqual({ running: 0, waiting: 0 });

    // Asked for meanwhile, the chat still waits for a1: a2 does not overtake it.
    h.ask('chatA');
    await flush();
    jest.advanceTimersByTime(1999);
    await flush();
    expect(h.channel.texts()).toEqual(['a1']);

    jest.advanceTimersByTime(1);
    await flush();
    expect(h.channel.texts()).toEqual(['a1', 'a1']);
    expect(h.channel.sends[1]!.waMessageId).toBe(waMessageIdFor(a1.message.id));
    h.channel.end('a1');
    await flush();
    expect(h.channel.texts()).toEqual(['a1', 'a1', 'a2']);
    h.channel.end('a2');
    await flush();
    expect(h.events()).toEqual(['message.sent a1', 'message.sent a2']);
    expect(h.counts()).toEqual(['s1 sent', 's1 sent']);
    expect(h.outbox.rows).toEqual([]);
    expect(h.failures).toEqual([]);
  });

  it('asks again at its retry time for a chat whose head is waiting for a retry it did not schedule', async () => {
    fakeClock();
    const h = setup();
    // A retry scheduled by the previous owner of the session (or before a restart).
    const a1 = Object.assign(h.outbox.add('chatA', 'a1'), { attempts: 1, availableAt: new Date(Date.now() + 5000) });
    h.ask('chatA');
    await flush();
    expect(h.outbox.claims).toBe(1);
    expect(h.channel.sends).toEqual([]);
    expect(h.drains.size).toEqual({ running: 0, waiting: 0 });
    jest.advanceTimersByTime(4999);
    await flush();
    expect(h.channel.sends).toEqual([]);
    jest.advanceTimersByTime(1);
    await flush();
    expect(h.channel.texts(h.channel.inFlight())).toEqual(['a1']);
    h.channel.end('a1');
    await flush();
    expect(h.events()).toEqual(['message.sent a1']);
    expect(h.outbox.rows).not.toContain(a1);
    expect(h.failures).toEqual([]);
  });

  it('fails a message for good after QUEUE_MESSAGE_SEND_ATTEMPTS sends, with message.failed, and the chat goes on', async () => {
    fakeClock();
    const h = setup({ attempts: 3 });
    const a1 = h.outbox.add('chatA', 'a1');
    h.outbox.add('chatA', 'a2');
    h.ask('chatA');
    await flush();
    h.channel.end('a1', new Error('boom 1'));
    await flush();
    jest.advanceTimersByTime(2000);
    await flush();
    h.channel.end('a1', new Error('boom 2'));
    await flush();
    expect(a1).toMatchObject({ status: 'PENDING', attempts: 2 });
    // The second retry waits twice as long.
    expect(a1.availableAt.getTime()).toBe(Date.now() + 4000);
    jest.advanceTimersByTime(3999);
    await flush();
    expect(h.channel.texts()).toEqual(['a1', 'a1']);
    jest.advanceTimersByTime(1);
    await flush();
    expect(h.channel.texts()).toEqual(['a1', 'a1', 'a1']);
    expect(h.events()).toEqual([]);

    h.channel.end('a1', new Error('boom 3'));
    await flush();
    expect(a1).toMatchObject({ status: 'FAILED', attempts: 3, lockedBy: null, lastError: 'boom 3' });
    expect(h.events()).toEqual(['message.failed a1']);
    expect(h.log.append.mock.calls[0]![1].data).toMatchObject({ id: a1.message.id, status: 'FAILED', attempts: 3, error: 'boom 3' });
    expect(h.counts()).toEqual(['s1 failed']);
    expect(h.metrics.outbound.mock.calls).toEqual([['FAILED']]);
    expect(h.metrics.sent).not.toHaveBeenCalled();
    // The chat goes on at once, without waiting for a timer.
    expect(h.channel.texts(h.channel.inFlight())).toEqual(['a2']);
    h.channel.end('a2');
    await flush();
    expect(h.events()).toEqual(['message.failed a1', 'message.sent a2']);
    expect(h.counts()).toEqual(['s1 failed', 's1 sent']);
    expect(h.outbox.rows).toEqual([a1]);
    expect(h.failures).toEqual([]);
  });

  it('releases the row as it was when the session no longer works here, and stops the drain without a retry of its own', async () => {
    fakeClock();
    const h = setup();
    const a1 = h.outbox.add('chatA', 'a1');
    const a2 = h.outbox.add('chatA', 'a2');
    h.channel.answer = 'not-ready';
    h.ask('chatA');
    await flush();
    expect(h.channel.texts()).toEqual(['a1']);
    expect(a1).toMatchObject({ status: 'PENDING', attempts: 0, lockedBy: null, lastError: null, availableAt: new Date(0) });
    expect(a2).toMatchObject({ status: 'PENDING', attempts: 0, lockedBy: null });
    expect(h.events()).toEqual([]);
    expect(h.counts()).toEqual([]);
    expect(h.drains.size).toEqual({ running: 0, waiting: 0 });
    jest.advanceTimersByTime(60_000);
    await flush();
    expect(h.channel.texts()).toEqual(['a1']);

    // A later ask (the session works again) sends both, in order.
    h.channel.answer = 'ok';
    h.ask('chatA');
    await flush();
    expect(h.channel.texts()).toEqual(['a1', 'a1', 'a2']);
    expect(h.events()).toEqual(['message.sent a1', 'message.sent a2']);
    expect(h.failures).toEqual([]);
  });

  it('starts no send when the session has no channel here', async () => {
    const h = setup();
    const a1 = h.outbox.add('chatA', 'a1');
    h.setLive(false);
    h.ask('chatA');
    await flush();
    expect(h.channels.get).toHaveBeenCalledWith(SESSION);
    expect(h.outbox.claims).toBe(0);
    expect(h.channel.sends).toEqual([]);
    expect(a1).toMatchObject({ status: 'PENDING', lockedBy: null });
    expect(h.drains.size).toEqual({ running: 0, waiting: 0 });
    expect(h.failures).toEqual([]);
  });

  it('releases the row as it was when the rate-limit window is full, and sends in order once a permit frees', async () => {
    fakeClock();
    const h = setup();
    const a1 = h.outbox.add('chatA', 'a1');
    h.outbox.add('chatA', 'a2');
    h.limiterWaits.push(30_000);
    h.ask('chatA');
    await flush();
    expect(h.limiter.take).toHaveBeenCalledWith(SESSION, RATE_LIMIT);
    expect(h.channel.sends).toEqual([]);
    expect(a1).toMatchObject({ status: 'PENDING', attempts: 0, lockedBy: null, availableAt: new Date(0) });
    expect(h.drains.size).toEqual({ running: 0, waiting: 0 });

    jest.advanceTimersByTime(29_999);
    await flush();
    expect(h.channel.sends).toEqual([]);
    jest.advanceTimersByTime(1);
    await flush();
    expect(h.channel.texts(h.channel.inFlight())).toEqual(['a1']);
    h.channel.end('a1');
    await flush();
    h.channel.end('a2');
    await flush();
    expect(h.channel.texts()).toEqual(['a1', 'a2']);
    expect(h.limiter.take).toHaveBeenCalledTimes(3);
    expect(h.events()).toEqual(['message.sent a1', 'message.sent a2']);
    expect(h.outbox.rows).toEqual([]);
    expect(h.failures).toEqual([]);
  });

  it('waits at shutdown for the send in flight, records it, and starts nothing afterwards', async () => {
    const h = setup({ concurrency: 1 });
    h.outbox.add('chatA', 'a1');
    const a2 = h.outbox.add('chatA', 'a2');
    const b1 = h.outbox.add('chatB', 'b1');
    h.ask('chatA');
    h.ask('chatB');
    await flush();
    expect(h.channel.texts(h.channel.inFlight())).toEqual(['a1']);
    expect(h.drains.size).toEqual({ running: 1, waiting: 1 });

    let stopped = false;
    const stopping = h.drains.beforeApplicationShutdown().then(() => (stopped = true));
    await flush();
    expect(stopped).toBe(false);

    h.channel.end('a1');
    await flush();
    expect(stopped).toBe(true);
    await stopping;
    expect(h.events()).toEqual(['message.sent a1']);
    h.ask('chatB');
    await flush();
    // Neither the chat's next message nor the waiting chat was started.
    expect(h.channel.texts()).toEqual(['a1']);
    expect(a2).toMatchObject({ status: 'PENDING', lockedBy: null });
    expect(b1).toMatchObject({ status: 'PENDING', lockedBy: null });
    expect(h.drains.size).toEqual({ running: 0, waiting: 0 });
    expect(h.failures).toEqual([]);
  });

  it('does not send a retry that was waiting at shutdown', async () => {
    fakeClock();
    const h = setup();
    h.outbox.add('chatA', 'a1');
    h.ask('chatA');
    await flush();
    h.channel.end('a1', new Error('boom'));
    await flush();
    await h.drains.beforeApplicationShutdown();
    jest.advanceTimersByTime(60_000);
    await flush();
    expect(h.channel.texts()).toEqual(['a1']);
    expect(h.outbox.claims).toBe(1);
    expect(h.failures).toEqual([]);
  });

  it('a rate limiter that fails (Redis down) leaves no row claimed, and the chat is asked for again', async () => {
    fakeClock();
    const h = setup();
    const a1 = h.outbox.add('chatA', 'a1');
    h.limiter.take.mockRejectedValueOnce(new Error('redis down'));
    h.ask('chatA');
    await flush();
    expect(h.failures).toHaveLength(1);
    expect(a1).toMatchObject({ status: 'PENDING', lockedBy: null });
    expect(h.channel.texts()).toEqual([]);
    jest.advanceTimersByTime(1000);
    await flush();
    h.channel.end('a1');
    await flush();
    expect(h.channel.texts()).toEqual(['a1']);
    expect(h.events()).toEqual(['message.sent a1']);
  });

  it('a send that went out but could not be recorded is not a failed attempt: the row stays claimed for the stale-lock reset', async () => {
    const h = setup({ attempts: 1 });
    const a1 = h.outbox.add('chatA', 'a1');
    // The transaction's first statement fails (PostgreSQL down): nothing of it is written.
    jest.spyOn(h.outbox, 'markSentMany').mockRejectedValueOnce(new Error('database down'));
    h.ask('chatA');
    await flush();
    h.channel.end('a1');
    await flush();
    expect(h.failures).toHaveLength(1);
    // Not FAILED (it was sent), not retried by this drain: the stale-lock reset gives it back, and it goes
    // again with the same WhatsApp id.
    expect(a1).toMatchObject({ status: 'PROCESSING', lockedBy: OWNER });
    expect(h.events()).toEqual([]);
    expect(h.counts()).toEqual([]);
  });
});
