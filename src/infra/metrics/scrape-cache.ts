/**
 * Values read from a slow source (PostgreSQL, Redis) for gauges computed at
 * scrape time.
 *
 * - A value read less than `ttlMs` ago is served as is (by later scrapes and
 *   by every gauge of one scrape).
 * - Otherwise one read starts (never more than one in flight per source) and
 *   the scrape waits for it at most `waitMs`. When the read answers in time,
 *   its value is served; when it fails or is still running, the last good value
 *   (or `initial`) is served and marked stale. A read still running goes on in
 *   the background: its outcome is always handled (reported through `events`,
 *   which log and count it) and, when it succeeds, stored for the next scrape.
 * - A read that has not settled after `abandonAfterMs` gives its slot up (it is
 *   reported as failed and its late outcome ignored), so one hung promise never
 *   stops the source from being read again.
 *
 * So a slow or unreachable database makes /metrics serve the last values a few
 * hundred milliseconds late, never hang and never fail.
 */
export interface ScrapeCacheOptions<T> {
  /** How long a value read successfully is served without reading again. */
  ttlMs: number;
  /** Served (stale) until a first read succeeds. */
  initial: T;
  /** How long a scrape waits for a read before serving the last value. */
  waitMs: number;
  /** A read that has not settled after this long frees the source for a new read. Default 30 s. */
  abandonAfterMs?: number;
  events?: ScrapeCacheEvents;
  now?: () => number;
}

/** What happened to reads, for logs and counters. Called synchronously; a handler that throws is reported as a process warning. */
export interface ScrapeCacheEvents {
  /** A read outlived a scrape's wait (once per read): the scrape served the last value. */
  slow?(source: string, waitedMs: number): void;
  /** A read failed (or was abandoned): the last value stays. */
  failed?(source: string, error: unknown, durationMs: number): void;
  /** A read succeeded after one or more failed or slow ones. */
  recovered?(source: string, durationMs: number): void;
}

/** What one scrape got: the value and whether it is older than the TTL (the read timed out or failed). */
export interface Served<T> {
  value: T;
  stale: boolean;
}

const DEFAULT_ABANDON_AFTER_MS = 30_000;

/** One read of the source; `promise` settles (never rejects) when it ended or was abandoned. */
interface Read {
  promise: Promise<void>;
  startedAt: number;
  /** The cache's generation when it started (invalidate() makes it outdated). */
  generation: number;
  reportedSlow: boolean;
  /** Set when it succeeded and stored its value. */
  ok: boolean;
}

class ReadAbandonedError extends Error {
  constructor(source: string, ms: number) {
    super(`metrics source "${source}": read abandoned after ${ms} ms`);
  }
}

export class ScrapeCache<T> {
  private value: T;
  /** When the value was read (ms), null until a read succeeded. */
  private readAt: number | null = null;
  /** invalidate() bumps it; a value read under an older generation is not fresh. */
  private generation = 0;
  private valueGeneration = -1;
  private inFlight: Read | null = null;
  /** The current bounded wait, shared by every gauge of one scrape so they agree on the outcome. */
  private waiting: Promise<Served<T>> | null = null;
  private lastServedStale = true;
  /** A read failed or was slow since the last success (to report recovery once). */
  private troubled = false;
  private readonly now: () => number;
  private readonly abandonAfterMs: number;

  constructor(
    readonly source: string,
    private readonly load: () => Promise<T>,
    private readonly options: ScrapeCacheOptions<T>,
  ) {
    this.value = options.initial;
    this.now = options.now ?? Date.now;
    this.abandonAfterMs = options.abandonAfterMs ?? DEFAULT_ABANDON_AFTER_MS;
  }

  /** The value to serve now (waits at most `waitMs`; never rejects). */
  async get(): Promise<T> {
    return (await this.serve()).value;
  }

  /** Like get(), with whether the value served is stale. */
  serve(): Promise<Served<T>> {
    if (this.isFresh()) return Promise.resolve(this.served(false));
    this.waiting ??= this.waitForRead().finally(() => {
      this.waiting = null;
    });
    return this.waiting;
  }

  /** The source changed: the next scrape reads again (a read already running is not cancelled). */
  invalidate(): void {
    this.generation++;
  }

  /** Whether the last value served was stale (older than the TTL: its read timed out or failed). */
  get stale(): boolean {
    return this.lastServedStale;
  }

  /** Seconds since the value was read, null when no read has succeeded yet. */
  ageSeconds(): number | null {
    return this.readAt === null ? null : Math.max(0, (this.now() - this.readAt) / 1000);
  }

  private isFresh(): boolean {
    return this.readAt !== null && this.valueGeneration === this.generation && this.now() - this.readAt < this.options.ttlMs;
  }

  private served(stale: boolean): Served<T> {
    this.lastServedStale = stale;
    return { value: this.value, stale };
  }

  private async waitForRead(): Promise<Served<T>> {
    let read = (this.inFlight ??= this.startRead());
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), this.options.waitMs);
      timer.unref?.();
    });
    try {
      for (;;) {
        const outcome = await Promise.race([read.promise.then(() => 'settled' as const), timedOut]);
        if (outcome === 'settled' && read.generation !== this.generation && !this.isFresh()) {
          // The source changed while this read ran (invalidate()): read again, within the same wait.
          read = this.inFlight ??= this.startRead();
          continue;
        }
        return this.outcome(outcome, read);
      }
    } finally {
      clearTimeout(timer);
    }
  }

  private outcome(outcome: 'settled' | 'timeout', read: Read): Served<T> {
    if (outcome === 'timeout') {
      if (!read.reportedSlow && this.inFlight === read) {
        read.reportedSlow = true;
        this.troubled = true;
        this.report('slow', (e) => e.slow?.(this.source, this.now() - read.startedAt));
      }
      return this.served(true);
    }
    // Settled in time: fresh when it stored a value; a failed (or abandoned) read leaves an older one.
    return this.served(!read.ok);
  }

  /** Calls an event handler; one that throws must not fail a scrape (nor leave a rejection unhandled). */
  private report(event: keyof ScrapeCacheEvents, call: (events: ScrapeCacheEvents) => void): void {
    if (!this.options.events) return;
    try {
      call(this.options.events);
    } catch (error) {
      process.emitWarning(`metrics source "${this.source}": the ${event} handler threw: ${String(error)}`);
    }
  }

  private startRead(): Read {
    const startedAt = this.now();
    const generation = this.generation;
    let abandonTimer: NodeJS.Timeout | undefined;
    let settled = false;
    const entry: Read = { promise: Promise.resolve(), startedAt, generation, reportedSlow: false, ok: false };
    const finish = () => {
      settled = true;
      clearTimeout(abandonTimer);
      if (this.inFlight === entry) this.inFlight = null;
    };
    let load: Promise<T>;
    try {
      load = this.load();
    } catch (error) {
      load = Promise.reject(error);
    }
    const loaded = load.then(
      (value) => {
        if (settled) return; // abandoned: a later read owns the value
        finish();
        this.value = value;
        this.readAt = this.now();
        entry.ok = true;
        this.valueGeneration = generation;
        if (this.troubled) {
          this.troubled = false;
          this.report('recovered', (e) => e.recovered?.(this.source, this.now() - startedAt));
        }
      },
      (error: unknown) => {
        if (settled) return;
        finish();
        this.troubled = true;
        this.report('failed', (e) => e.failed?.(this.source, error, this.now() - startedAt));
      },
    );
    const abandoned = new Promise<void>((resolve) => {
      abandonTimer = setTimeout(() => {
        if (settled) return resolve();
        finish();
        this.troubled = true;
        this.report('failed', (e) => e.failed?.(this.source, new ReadAbandonedError(this.source, this.abandonAfterMs), this.now() - startedAt));
        resolve();
      }, this.abandonAfterMs);
      abandonTimer.unref?.();
    });
    entry.promise = Promise.race([loaded, abandoned]);
    return entry;
  }
}
