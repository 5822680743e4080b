import type { SessionPatch } from '../session.repository';
import type { SessionStatus } from '../session.types';

export interface StatusUpdate {
  status: SessionStatus;
  patch?: SessionPatch;
}

/** Statuses a flapping connection passes through: these are debounced. */
const TRANSIENT: ReadonlySet<SessionStatus> = new Set(['STARTING', 'RECONNECTING']);

/**
 * Serializes and debounces the status writes of one session.
 *
 * Transient statuses (STARTING, RECONNECTING) wait up to `debounceMs`, and a
 * newer transient update replaces an older pending one, so a connection that
 * flaps does not flood PostgreSQL and webhooks. Any other status is written at
 * once and discards a pending transient one: a final state is never lost or
 * delayed behind a stale one. Writes are chained so they land in order.
 */
export class StatusWriter {
  private pending: StatusUpdate | null = null;
  private timer: NodeJS.Timeout | null = null;
  private chain: Promise<void> = Promise.resolve();
  private disposed = false;

  constructor(
    private readonly debounceMs: number,
    private readonly persist: (update: StatusUpdate) => Promise<void>,
    private readonly onError: (error: unknown) => void,
  ) {}

  write(update: StatusUpdate): Promise<void> {
    if (this.disposed) return this.chain;
    if (TRANSIENT.has(update.status) && this.debounceMs > 0) {
      this.pending = { status: update.status, patch: { ...this.pending?.patch, ...update.patch } };
      this.timer ??= setTimeout(() => void this.flush(), this.debounceMs);
      return this.chain;
    }
    this.cancelPending();
    return this.enqueue(update);
  }

  /** Writes a pending transient update now (if any). */
  flush(): Promise<void> {
    const pending = this.pending;
    this.cancelPending();
    return pending ? this.enqueue(pending) : this.chain;
  }

  /** Drops anything pending and refuses further writes; resolves when in-flight writes landed. */
  dispose(): Promise<void> {
    this.cancelPending();
    this.disposed = true;
    return this.chain;
  }

  get hasPending(): boolean {
    return this.pending !== null;
  }

  private cancelPending(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.pending = null;
  }

  private enqueue(update: StatusUpdate): Promise<void> {
    this.chain = this.chain.then(() => this.persist(update)).catch(this.onError);
    return this.chain;
  }
}
