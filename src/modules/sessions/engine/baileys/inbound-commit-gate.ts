/**
 * Holds a socket's outgoing frames until the inbound messages that arrived
 * before them are recorded.
 *
 * Why: Baileys 7 (messages-recv.js, handleMessage) sends the delivery receipt
 * of a message BEFORE it emits `messages.upsert`. The receipt is what tells
 * WhatsApp the device has the message: after it, WhatsApp never delivers the
 * message again. A crash between the receipt and ZapHub's commit lost the
 * message. Baileys offers no hook (its send path is closures), and by the time
 * a frame reaches the socket it is Noise-encrypted, so the receipt cannot be
 * told apart from other frames. What can be done: every frame sent after a
 * message arrived waits until that message is settled (recorded, or Baileys
 * decided not to upsert it and the safety timeout passed). Frames keep their
 * order (the Noise counter forbids reordering). A frame sent while nothing is
 * pending goes straight out.
 *
 * The caller of a held frame is told at once that it was written (Baileys
 * awaits the receipt's write before it upserts: waiting for the real write
 * would deadlock). Whoever needs to know a frame really left (an outbound
 * send, before it is recorded as SENT) awaits `whenWritten()`.
 *
 * Only frames after a message's arrival wait for it (a watermark), so a steady
 * stream of inbound messages delays outgoing frames by about one commit, never
 * starves them.
 *
 * Signal key writes wait the same way (`deferWrite`): decrypting a message
 * consumes its message key, and once that is stored a re-delivery of the
 * message fails to decrypt ("Key used already"), which Baileys nacks: the
 * message would be lost just the same. Writes and frames share one ordered
 * queue, so nothing derived from an unrecorded message's key state is stored
 * or leaves the process before the message is recorded.
 */
export type RawSend = (data: Uint8Array, cb?: (error?: Error) => void) => void;

export interface InboundCommitGateOptions {
  /** The socket's own send (called in order, never re-entered for a held frame). */
  send: RawSend;
  /** Longest a message may hold frames; then it counts as settled (Baileys did not upsert it, or the sink hangs). */
  settleTimeoutMs: number;
  /** Messages that reached settleTimeoutMs unsettled (to log and count). */
  onTimeout: (waMessageIds: string[]) => void;
  /** A released frame's write failed (the socket closed meanwhile), or a deferred key write failed. */
  onWriteError: (error: Error, what: 'frame' | 'keys') => void;
}

/** A frame to write, or a key write to run, held in order. */
interface Held {
  data?: Uint8Array;
  run?: () => Promise<void>;
  /** Arrival number of the last message that had arrived when it was queued: it waits for all up to it. */
  waitFor: number;
  /** whenWritten() callers waiting for this entry (only the last held entry gets any). */
  written: Array<{ resolve: () => void; reject: (error: Error) => void }>;
}

export class InboundCommitGate {
  private arrivals = 0;
  /** Unsettled messages: arrival number -> id and deadline (Map order = arrival order). */
  private readonly pending = new Map<number, { id: string; deadline: number }>();
  private readonly arrivalsById = new Map<string, number[]>();
  private readonly held: Held[] = [];
  /** A released key write is running: what follows waits for it. */
  private pumping = false;
  /** whenWritten() callers that came while only a running key write was left. */
  private readonly afterPump: Array<{ resolve: () => void; reject: (error: Error) => void }> = [];
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  /** Messages were unrecorded at the close: later key writes may derive from them (a decrypt finishing late). */
  private closedUnrecorded = false;

  constructor(private readonly options: InboundCommitGateOptions) {}

  /** Frames and key writes currently held (for tests and diagnostics). */
  get heldCount(): number {
    return this.held.length;
  }

  /** Messages not settled yet. */
  get pendingMessages(): number {
    return this.pending.size;
  }

  /** A `<message>` stanza arrived (called synchronously, before Baileys can answer it). */
  messageArrived(waMessageId: string): void {
    if (this.closed) return;
    const arrival = ++this.arrivals;
    this.pending.set(arrival, { id: waMessageId, deadline: Date.now() + this.options.settleTimeoutMs });
    const list = this.arrivalsById.get(waMessageId);
    if (list) list.push(arrival);
    else this.arrivalsById.set(waMessageId, [arrival]);
    this.armTimer();
  }

  /** Every arrival of `waMessageId` is settled (recorded, or not to be recorded): frames behind it may go. */
  settled(waMessageId: string): void {
    const list = this.arrivalsById.get(waMessageId);
    if (!list) return;
    this.arrivalsById.delete(waMessageId);
    for (const arrival of list) this.pending.delete(arrival);
    this.release();
  }

  /** The socket's send, as installed on the raw WebSocket. */
  send(data: Uint8Array, cb?: (error?: Error) => void): void {
    if (this.closed || this.idle()) {
      this.options.send(data, cb);
      return;
    }
    this.held.push({ data, waitFor: this.arrivals, written: [] });
    // Told "written" now: Baileys awaits the receipt's write before it upserts the message (see above).
    if (cb) queueMicrotask(() => cb());
    this.release();
  }

  /**
   * Queues a key write behind the messages that arrived so far. Returns false
   * when nothing is pending (the caller writes now, as usual); true when the
   * write was queued: it runs later, in order, and its failure goes to
   * onWriteError. Dropped if the connection closes first (the messages it
   * derives from are delivered again, and decrypt with the stored state).
   */
  deferWrite(run: () => Promise<void>): boolean {
    // After a close with messages unrecorded, a write may be a late decrypt's consumed keys: dropped, so
    // the re-delivery decrypts. (Post-login bookkeeping Baileys still writes then is redone at the next login.)
    if (this.closed) return this.closedUnrecorded;
    if (this.idle()) return false;
    this.held.push({ run, waitFor: this.arrivals, written: [] });
    this.release();
    return true;
  }

  /** Resolves once every frame and key write queued so far is through; rejects when the gate closed first. */
  whenWritten(): Promise<void> {
    const last = this.held[this.held.length - 1];
    if (!last) return this.pumping ? new Promise((resolve, reject) => this.afterPump.push({ resolve, reject })) : Promise.resolve();
    return new Promise((resolve, reject) => last.written.push({ resolve, reject }));
  }

  private idle(): boolean {
    return this.held.length === 0 && this.pending.size === 0 && !this.pumping;
  }

  /** The socket closed: held frames can never leave (WhatsApp delivers their messages again). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.closedUnrecorded = this.pending.size > 0;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.pending.clear();
    this.arrivalsById.clear();
    const error = new Error('connection closed before the frame was written');
    for (const entry of this.held.splice(0)) for (const waiter of entry.written) waiter.reject(error);
  }

  private release(): void {
    if (this.pending.size === 0 && this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.pumping) return; // the running write's pump goes on when it is done
    while (this.held.length > 0 && this.held[0]!.waitFor < this.lowestPending()) {
      const entry = this.held.shift()!;
      if (entry.run) {
        this.pumping = true;
        this.runWrite(entry).finally(() => {
          this.pumping = false;
          if (this.held.length === 0) for (const waiter of this.afterPump.splice(0)) waiter.resolve();
          this.release();
        }).catch(() => undefined); // runWrite never rejects (failures go to onWriteError)
        return;
      }
      this.options.send(entry.data!, (error?: Error) => {
        if (error) {
          this.options.onWriteError(error, 'frame');
          for (const waiter of entry.written) waiter.reject(error);
        } else {
          for (const waiter of entry.written) waiter.resolve();
        }
      });
    }
  }

  private lowestPending(): number {
    const oldest = this.pending.keys().next();
    return oldest.done ? Infinity : oldest.value;
  }

  /** Runs a released key write; frames and writes behind it wait until it is stored. Never rejects. */
  private async runWrite(entry: Held): Promise<void> {
    try {
      await entry.run!();
      for (const waiter of entry.written) waiter.resolve();
    } catch (error) {
      this.options.onWriteError(error as Error, 'keys');
      for (const waiter of entry.written) waiter.reject(error as Error);
    }
  }

  /** One timer, for the oldest pending message's deadline. */
  private armTimer(): void {
    if (this.timer || this.closed) return;
    const oldest = this.pending.values().next();
    if (oldest.done) return;
    this.timer = setTimeout(() => this.expire(), Math.max(0, oldest.value.deadline - Date.now()));
    this.timer.unref?.();
  }

  private expire(): void {
    this.timer = null;
    const now = Date.now();
    const expired = new Set<string>();
    for (const { id, deadline } of this.pending.values()) {
      if (deadline > now) break;
      expired.add(id);
    }
    if (expired.size > 0) {
      this.options.onTimeout([...expired]);
      for (const id of expired) this.settled(id);
    }
    this.armTimer();
  }
}
