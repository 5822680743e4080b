/**
 * Persists creds one write at a time and coalesces bursts: Baileys emits
 * creds.update many times in a row (pre-key counters, pairing, routing info),
 * and each write stores the whole creds. While a write is in flight, later
 * requests only mark the state dirty; when it finishes, one more write takes
 * the then-current state. The last state is never lost: a failed write is
 * retried (after `retryMs`) until it succeeds or the writer is flushed and
 * stopped.
 */
export interface CredsWriterDeps {
  /** Serializes the current creds at write time (so the newest state is written). */
  snapshot: () => string;
  save: (serialized: string) => Promise<void>;
  onSaved?: () => void;
  onError?: (error: unknown) => void;
  retryMs?: number;
}

export class CredsWriter {
  private inFlight: Promise<void> | null = null;
  private dirty = false;
  private retryTimer: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(private readonly deps: CredsWriterDeps) {}

  /** Requests a save of the current creds. Never throws; errors go to onError. */
  request(): void {
    if (this.stopped) return;
    this.dirty = true;
    if (!this.inFlight) this.inFlight = this.drain();
  }

  /** Resolves once every requested state is written (or the last attempt failed). */
  async flush(): Promise<void> {
    if (this.retryTimer) {
      clearTimeout(this.retryTimer);
      this.retryTimer = null;
      if (!this.inFlight) this.inFlight = this.drain();
    }
    while (this.inFlight) await this.inFlight;
  }

  /** Final flush, then refuses further requests and clears the retry timer. */
  async stop(): Promise<void> {
    await this.flush();
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
  }

  private async drain(): Promise<void> {
    try {
      while (this.dirty) {
        this.dirty = false;
        try {
          await this.deps.save(this.deps.snapshot());
          this.deps.onSaved?.();
        } catch (error) {
          this.dirty = true;
          this.deps.onError?.(error);
          if (!this.stopped && !this.retryTimer) {
            this.retryTimer = setTimeout(() => {
              this.retryTimer = null;
              if (!this.inFlight) this.inFlight = this.drain();
            }, this.deps.retryMs ?? 1000);
            this.retryTimer.unref?.();
          }
          return;
        }
      }
    } finally {
      this.inFlight = null;
    }
  }
}
