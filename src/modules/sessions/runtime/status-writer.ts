import type { SessionPatch } from '../session.repository';
import type { SessionStatus, StatsChange } from '../session.types';

export interface StatusUpdate {
  status: SessionStatus;
  patch?: SessionPatch;
  stats?: StatsChange;
  /** Clears the row's pending action in the same write, if its sequence is still this one. */
  clearActionSeq?: number;
}

/** Statuses a flapping connection passes through: these are debounced. */
const TRANSIENT: ReadonlySet<SessionStatus> = new Set(['STARTING', 'RECONNECTING']);

/** `later` wins field by field; stats changes combine (a reset stays a reset). */
export function mergeUpdates(earlier: StatusUpdate | null, later: StatusUpdate): StatusUpdate {
  if (!earlier) return later;
  const stats = earlier.stats || later.stats ? { ...earlier.stats, ...later.stats } : undefined;
  const clearActionSeq = later.clearActionSeq ?? earlier.clearActionSeq;
  return {
    status: later.status,
    patch: { ...earlier.patch, ...later.patch },
    ...(stats ? { stats } : {}),
    ...(clearActionSeq !== undefined ? { clearActionSeq } : {}),
  };
}

/**
 * Debounces the status writes of one session. Transient statuses (STARTING,
 * RECONNECTING) wait up to `debounceMs`, so a connection that flaps does not
 * flood PostgreSQL and webhooks. Any other status is written at once, and
 * carries every field of the pending transient update with it: only the
 * transient STATUS is skipped, never the fields that came with it (a start's
 * stats reset, queuedAt cleared, attempt counters, HALF_OPEN...).
 *
 * Not concurrency-safe on its own: the SessionDriver calls it from its serial
 * queue, and `schedule` puts the debounced flush on that same queue.
 */
export class StatusWriter {
  private pending: StatusUpdate | null = null;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly debounceMs: number,
    private readonly persist: (update: StatusUpdate) => Promise<void>,
    private readonly schedule: (flush: () => Promise<void>) => void,
  ) {}

  async write(update: StatusUpdate): Promise<void> {
    if (TRANSIENT.has(update.status) && this.debounceMs > 0) {
      this.pending = mergeUpdates(this.pending, update);
      this.timer ??= setTimeout(() => {
        this.timer = null;
        this.schedule(() => this.flush());
      }, this.debounceMs);
      return;
    }
    const merged = mergeUpdates(this.takePending(), update);
    await this.persist(merged);
  }

  /** Writes a pending transient update now (if any). */
  async flush(): Promise<void> {
    const pending = this.takePending();
    if (pending) await this.persist(pending);
  }

  /** Drops anything pending (the session is released; the next owner writes its own state). */
  discard(): void {
    this.takePending();
  }

  get pendingStatus(): SessionStatus | null {
    return this.pending?.status ?? null;
  }

  private takePending(): StatusUpdate | null {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const pending = this.pending;
    this.pending = null;
    return pending;
  }
}
