/**
 * Group commit: items submitted while earlier batches are being written wait and go together in
 * the next batch, so a burst costs one transaction per batch instead of one per item, while a
 * lone item is written on the next turn of the event loop (no timer, no wait when idle).
 *
 * - at most `maxInFlight` batches are written at a time, each of at most `maxBatch` items;
 * - `submit` resolves with the item's own result once its batch committed, or rejects with the
 *   batch's error; a failed batch of several items is written again one item per batch, so one
 *   bad item fails alone (its caller retries or gives up; the others are recorded);
 * - every submitted promise settles: nothing is left pending by a failure;
 * - with `keyOf` (e.g. the session), items of one key commit in submission order: an item whose
 *   key has items in a batch being written (or earlier items left waiting) waits for the next
 *   batch, so a burst of one key split over two batches in flight cannot commit out of order.
 */
export class GroupCommit<T, R> {
  private waiting: Array<{ item: T; resolve: (r: R) => void; reject: (e: unknown) => void }> = [];
  private readonly running = new Set<Promise<void>>();
  /** Keys (`keyOf`) with items in a batch being written. */
  private readonly busyKeys = new Set<string>();
  private scheduled = false;

  constructor(
    private readonly write: (items: T[]) => Promise<R[]>,
    private readonly options: { maxBatch: number; maxInFlight: number; onBatch?: (size: number) => void; keyOf?: (item: T) => string },
  ) {}

  submit(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.waiting.push({ item, resolve, reject });
      this.schedule();
    });
  }

  /** Items waiting for a batch (not yet being written). */
  get backlog(): number {
    return this.waiting.length;
  }

  /** Resolves once nothing is waiting or being written (for shutdown). */
  async idle(): Promise<void> {
    while (this.running.size || this.waiting.length) {
      if (this.running.size) await Promise.all([...this.running]);
      else await new Promise((resolve) => setImmediate(resolve));
    }
  }

  /**
   * Batches start on the next turn of the event loop, not inside `submit`: the callers of a batch
   * that just committed submit their next items in the same turn (promise continuations), and
   * these go together instead of the first one or two leaving alone.
   */
  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    while (this.running.size < this.options.maxInFlight && this.waiting.length) {
      const batch = this.take();
      // Everything waiting is behind a batch of its key: the end of that batch pumps again.
      if (!batch.length) return;
      const keys = this.options.keyOf ? new Set(batch.map((b) => this.options.keyOf!(b.item))) : null;
      keys?.forEach((k) => this.busyKeys.add(k));
      // run() never rejects (every outcome goes to the batch's callers); it is kept in `running`
      // until it ends, so idle() can await it.
      const running: Promise<void> = this.run(batch).finally(() => {
        keys?.forEach((k) => this.busyKeys.delete(k));
        this.running.delete(running);
        this.schedule();
      });
      this.running.add(running);
    }
  }

  /**
   * The next batch: the first `maxBatch` waiting items, except (with `keyOf`) those whose key is
   * in a batch being written; once an item of a key is left waiting, so are that key's later ones.
   */
  private take(): GroupCommit<T, R>['waiting'] {
    const keyOf = this.options.keyOf;
    if (!keyOf) return this.waiting.splice(0, this.options.maxBatch);
    const blocked = new Set(this.busyKeys);
    const batch: GroupCommit<T, R>['waiting'] = [];
    const rest: GroupCommit<T, R>['waiting'] = [];
    for (const w of this.waiting) {
      const key = keyOf(w.item);
      if (batch.length < this.options.maxBatch && !blocked.has(key)) batch.push(w);
      else {
        rest.push(w);
        blocked.add(key);
      }
    }
    this.waiting = rest;
    return batch;
  }

  private async run(batch: GroupCommit<T, R>['waiting']): Promise<void> {
    this.options.onBatch?.(batch.length);
    try {
      const results = await this.write(batch.map((b) => b.item));
      batch.forEach((b, i) => b.resolve(results[i]!));
    } catch (error) {
      if (batch.length === 1) return batch[0]!.reject(error);
      // One bad item must not fail the others: each alone.
      await Promise.all(
        batch.map(async (b) => {
          try {
            const [result] = await this.write([b.item]);
            b.resolve(result!);
          } catch (single) {
            b.reject(single);
          }
        }),
      );
    }
  }
}
