import { randomUUID } from 'node:crypto';
import { Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { BackgroundFailures } from '../metrics/background-failures';
import { afterCommit, type DbTransaction } from '../prisma/transaction';
import { RedisService } from '../redis/redis.module';
import { EventLog } from './event-log';

type Wake = () => void;

/**
 * "Session S has new events": the wake-up hint of live streams, on every
 * replica. An append hook notes the session in the appending transaction; once
 * it committed, this process's streams of S are woken at once and the hint
 * is published on a Redis channel for the other replicas' streams. Hints of
 * one tick are one PUBLISH. The event log stays the truth: a stream reads the
 * rows after its cursor, and a lost hint (Redis down, a replica restarting)
 * only waits for the stream's poll (EVENT_STREAM_POLL_MS).
 */
@Injectable()
export class EventAppendHints implements OnModuleInit, OnApplicationShutdown {
  /** This process, so its own publications are not a second wake-up. */
  private readonly instance = randomUUID();
  private readonly listeners = new Map<string, Set<Wake>>();
  /** The all-sessions streams: woken by a hint of any session. */
  private readonly allListeners = new Set<Wake>();
  private readonly noted = new WeakMap<object, Set<string>>();
  private pending = new Set<string>();
  private scheduled = false;
  private subscription: { close: () => void } | null = null;

  constructor(
    private readonly log: EventLog,
    private readonly redis: RedisService,
    private readonly background: BackgroundFailures,
  ) {}

  get channel(): string {
    return this.redis.key('events-appended');
  }

  onModuleInit(): void {
    this.log.onAppend((tx, events) => {
      for (const event of events) this.noteAppend(tx, event.sessionId);
      return Promise.resolve();
    });
  }

  onApplicationShutdown(): void {
    this.subscription?.close();
    this.subscription = null;
  }

  /**
   * Calls `wake` after every commit that appended events of `sessionId`, here
   * or on another replica, until the returned function is called. The Redis
   * subscription (one connection per process) starts with the first listener.
   */
  listen(sessionId: string, wake: Wake): () => void {
    this.ensureSubscribed();
    let set = this.listeners.get(sessionId);
    if (!set) this.listeners.set(sessionId, (set = new Set()));
    set.add(wake);
    return () => {
      set.delete(wake);
      if (!set.size && this.listeners.get(sessionId) === set) this.listeners.delete(sessionId);
    };
  }

  /**
   * Calls `wake` after every commit that appended events of any session, here
   * or on another replica, until the returned function is called (one call
   * per batch of hints, however many sessions it names).
   */
  listenAll(wake: Wake): () => void {
    this.ensureSubscribed();
    this.allListeners.add(wake);
    return () => {
      this.allListeners.delete(wake);
    };
  }

  /** One after-commit callback per transaction, whatever the number of events it appends. */
  private noteAppend(tx: DbTransaction, sessionId: string): void {
    const key = tx as unknown as object;
    const sessions = this.noted.get(key);
    if (sessions) {
      sessions.add(sessionId);
      return;
    }
    const fresh = new Set([sessionId]);
    try {
      afterCommit(tx, () => this.notify(fresh));
    } catch {
      // A transaction not opened by TransactionRunner has no after-commit hook: streams find its
      // events on their poll. Never fail (and roll back) an append for a hint.
      return;
    }
    this.noted.set(key, fresh);
  }

  private notify(sessions: Set<string>): void {
    for (const id of sessions) this.pending.add(id);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      const ids = [...this.pending];
      this.pending = new Set();
      this.wakeLocal(ids);
      this.background.track('event stream hint', this.redis.client.publish(this.channel, JSON.stringify({ from: this.instance, sessions: ids })));
    });
  }

  private wakeLocal(sessionIds: readonly string[]): void {
    for (const id of sessionIds) for (const wake of this.listeners.get(id) ?? []) wake();
    if (sessionIds.length) for (const wake of this.allListeners) wake();
  }

  private ensureSubscribed(): void {
    if (this.subscription) return;
    const subscription = this.redis.subscribe(this.channel, (message) => {
      const hint = parseHint(message);
      if (hint && hint.from !== this.instance) this.wakeLocal(hint.sessions);
    });
    // Streams do not wait for it: with Redis down they poll.
    this.background.track('event stream hint subscription', subscription.subscribed);
    this.subscription = subscription;
  }
}

function parseHint(message: string): { from: string; sessions: string[] } | null {
  try {
    const value = JSON.parse(message) as { from?: unknown; sessions?: unknown };
    if (typeof value.from !== 'string' || !Array.isArray(value.sessions)) return null;
    return { from: value.from, sessions: value.sessions.filter((s): s is string => typeof s === 'string') };
  } catch {
    return null;
  }
}
