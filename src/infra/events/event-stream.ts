import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { Counter, Gauge } from 'prom-client';
import { APP_CONFIG, type AppConfig } from '../../config';
import { BackgroundFailures } from '../metrics/background-failures';
import { MetricsRegistry } from '../metrics/metrics.registry';
import { EventAppendHints } from './event-append-hints';
import { EventLog, type EventEnvelope } from './event-log';
import { EventRepository } from './event.repository';
import { SessionCursors, type SessionEvent } from './session-cursors';

/** Events read from the log per query; also the most a slow client can have unread in the socket. */
const PAGE_SIZE = 100;

/** What a stream writes to: an http.ServerResponse, or a plain Writable in unit tests. */
export interface StreamTarget {
  write(chunk: string): boolean;
  readonly writableNeedDrain: boolean;
  readonly destroyed: boolean;
  end(): unknown;
  destroy(): unknown;
  once(event: 'drain' | 'close', listener: () => void): unknown;
  off(event: 'drain' | 'close', listener: () => void): unknown;
}

export interface StreamTiming {
  heartbeatMs: number;
  pollMs: number;
  slowClientMs: number;
}

/** `id:` of an SSE frame: `<session>:<sequence>` (CONTRACT.md), what `Last-Event-ID` brings back. */
export function streamEventId(event: Pick<EventEnvelope, 'session' | 'sequence'>): string {
  return `${event.session}:${event.sequence}`;
}

/**
 * One Server-Sent Events frame: `event:` the type, `data:` the envelope (JSON
 * has no raw newline). The envelope's fields are picked, so what a stream
 * keeps beside them (the session id of its cursor) never reaches the client.
 */
export function sseFrame(event: EventEnvelope): string {
  const { id, session, sequence, timestamp, data } = event;
  const envelope: EventEnvelope = { id, event: event.event, session, sequence, timestamp, data };
  return `id: ${streamEventId(event)}\nevent: ${event.event}\ndata: ${JSON.stringify(envelope)}\n\n`;
}

/**
 * The live event streams of this process (GET /api/events/stream): each
 * follows one session's event log from a cursor, or every session's (one
 * cursor per session), woken by EventAppendHints (this replica and, over
 * Redis, the others) and by its own poll, so events reach it whichever
 * replica appended them. Gauge `zaphub_event_stream_clients`: the streams
 * open here, of both kinds.
 */
@Injectable()
export class EventStreams implements OnModuleDestroy {
  private readonly logger = new Logger(EventStreams.name);
  private readonly open = new Set<Pick<LiveEventStream<EventEnvelope>, 'run' | 'close'>>();
  private readonly dropped: Counter;
  private readonly timing: StreamTiming;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly log: EventLog,
    private readonly events: EventRepository,
    private readonly hints: EventAppendHints,
    private readonly background: BackgroundFailures,
    metrics: MetricsRegistry,
  ) {
    this.timing = { heartbeatMs: config.EVENT_STREAM_HEARTBEAT_MS, pollMs: config.EVENT_STREAM_POLL_MS, slowClientMs: config.EVENT_STREAM_SLOW_CLIENT_MS };
    const open = this.open;
    new Gauge({
      name: 'zaphub_event_stream_clients',
      help: 'Live event streams (GET /api/events/stream) open on this process',
      registers: [metrics.registry],
      collect() {
        this.set(open.size);
      },
    });
    this.dropped = new Counter({
      name: 'zaphub_event_stream_dropped_total',
      help: 'Live event streams closed because the client read too slowly (it resumes with Last-Event-ID)',
      registers: [metrics.registry],
    });
  }

  /** Where a stream without a cursor starts: after the session's last committed event. */
  currentSequence(sessionId: string): Promise<number> {
    return this.log.lastSequence(sessionId);
  }

  /**
   * Streams the session's events with a sequence above `after` to `target`,
   * then live, until the client goes, is dropped, or the process shuts down.
   * Resolves then (never rejects: a failure is logged, counted and ends the stream).
   */
  serve(sessionId: string, after: number, target: StreamTarget): Promise<void> {
    let cursor = after;
    return this.run(
      new LiveEventStream(target, this.timing, {
        read: () => this.log.page(sessionId, cursor, PAGE_SIZE).then((page) => page.items),
        advance: (event) => (cursor = event.sequence),
        listen: (wake) => this.hints.listen(sessionId, wake),
        ...this.failureHandlers(sessionId),
      }),
    );
  }

  /**
   * Every session's last committed sequence now: where an all-sessions stream
   * starts. Taken before the response starts, so a client that reloads its
   * list once the stream is open has missed nothing.
   */
  allSessionsPosition(): Promise<Map<string, number>> {
    return this.events.countersAbove(new Map());
  }

  /**
   * Streams every session's events committed after `positions` (see
   * allSessionsPosition), live, like serve(). No resume across sessions: a
   * reconnect starts live again (the client reloads what it shows).
   */
  serveAll(positions: ReadonlyMap<string, number>, target: StreamTarget): Promise<void> {
    const cursors = new SessionCursors(positions, {
      changed: (at) => this.events.countersAbove(at),
      after: (sessionId, after, limit) => this.log.page(sessionId, after, limit).then((page) => page.items),
    });
    return this.run(
      new LiveEventStream<SessionEvent>(target, this.timing, {
        read: () => cursors.read(PAGE_SIZE),
        advance: (event) => cursors.advance(event),
        listen: (wake) => this.hints.listenAll(wake),
        ...this.failureHandlers(null),
      }),
    );
  }

  private async run(stream: Pick<LiveEventStream<EventEnvelope>, 'run' | 'close'>): Promise<void> {
    this.open.add(stream);
    try {
      await stream.run();
    } finally {
      this.open.delete(stream);
    }
  }

  /** `sessionId` null: the all-sessions stream. */
  private failureHandlers(sessionId: string | null): Pick<StreamSource<EventEnvelope>, 'onSlowClient' | 'onFailure'> {
    const scope = sessionId ?? 'all';
    return {
      onSlowClient: () => {
        this.dropped.inc();
        this.logger.warn({ sessionId: scope }, 'event stream client too slow: dropped (it reconnects)');
      },
      onFailure: (error) => this.background.record('event stream read', error, { sessionId: scope }),
    };
  }

  /** Open streams would hold the HTTP server open: end them first (clients reconnect elsewhere with Last-Event-ID). */
  async onModuleDestroy(): Promise<void> {
    await Promise.all([...this.open].map((stream) => stream.close()));
  }
}

/** What a stream reads: the source keeps its cursor, moved by `advance` once an event was written. */
export interface StreamSource<E extends EventEnvelope> {
  /** The next events after the cursor, at most PAGE_SIZE (fewer: caught up). */
  read(): Promise<E[]>;
  advance(event: E): void;
  listen(wake: () => void): () => void;
  onSlowClient(): void;
  onFailure(error: unknown): void;
}

/**
 * One client's stream. Reads run one at a time: a wake-up during a read only
 * asks for another pass. Back-pressure: after each page, when the socket's
 * buffer is full the stream reads nothing more until the client drained it,
 * so at most one page waits in memory per client (the log is the buffer);
 * a client that does not drain within `slowClientMs` is dropped and resumes
 * from its Last-Event-ID.
 */
export class LiveEventStream<E extends EventEnvelope> {
  private again = false;
  private reading: Promise<void> | null = null;
  private closed = false;
  private readonly timers: NodeJS.Timeout[] = [];
  private unlisten: (() => void) | null = null;
  private signalClosed!: () => void;
  private readonly closedSignal = new Promise<void>((resolve) => (this.signalClosed = resolve));

  constructor(
    private readonly target: StreamTarget,
    private readonly timing: StreamTiming,
    private readonly source: StreamSource<E>,
  ) {}

  /** Resolves once the stream ended (client gone, dropped, closed) and its last read settled. */
  async run(): Promise<void> {
    this.target.once('close', () => this.markClosed());
    if (this.target.destroyed) return this.markClosed();
    // Browsers reconnect after this many ms (EventSource's default is ~3 s).
    this.target.write('retry: 1000\n\n');
    this.unlisten = this.source.listen(() => this.wake());
    this.timers.push(
      setInterval(() => this.wake(), this.timing.pollMs),
      setInterval(() => this.heartbeat(), this.timing.heartbeatMs),
    );
    this.wake();
    await this.closedSignal;
    await this.reading;
  }

  /** Ends the stream (shutdown): the response is ended cleanly, the read in flight awaited. */
  async close(): Promise<void> {
    if (!this.closed) this.target.end();
    this.markClosed();
    await this.reading;
  }

  private wake(): void {
    if (this.closed) return;
    if (this.reading) {
      this.again = true;
      return;
    }
    this.reading = this.drain()
      .catch((error: unknown) => {
        // PostgreSQL down, say: the client reconnects and resumes from its Last-Event-ID.
        this.source.onFailure(error);
        this.target.destroy();
      })
      .finally(() => {
        this.reading = null;
      });
  }

  private async drain(): Promise<void> {
    do {
      this.again = false;
      for (;;) {
        const events = await this.source.read();
        if (this.closed) return;
        for (const event of events) {
          this.target.write(sseFrame(event));
          this.source.advance(event);
        }
        if (this.target.writableNeedDrain && !(await this.drained())) return;
        if (events.length < PAGE_SIZE) break;
      }
    } while (this.again && !this.closed);
  }

  /** True once the client read what was written; false when it was dropped or went away meanwhile. */
  private drained(): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      const settle = (ok: boolean) => {
        clearTimeout(timer);
        this.target.off('drain', onDrain);
        this.target.off('close', onClose);
        resolve(ok);
      };
      const onDrain = () => settle(!this.closed);
      const onClose = () => settle(false);
      const timer = setTimeout(() => {
        settle(false);
        this.source.onSlowClient();
        this.target.destroy();
      }, this.timing.slowClientMs);
      this.target.once('drain', onDrain);
      this.target.once('close', onClose);
    });
  }

  private heartbeat(): void {
    // A client with unread data needs no keep-alive; its slow-client timer is running.
    if (this.closed || this.target.writableNeedDrain) return;
    this.target.write(': heartbeat\n\n');
  }

  private markClosed(): void {
    if (this.closed) return;
    this.closed = true;
    for (const timer of this.timers) clearInterval(timer);
    this.unlisten?.();
    this.unlisten = null;
    this.signalClosed();
  }
}
