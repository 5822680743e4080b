/**
 * Group commit: items submitted while earlier batches are being written wait and go together in
 * the next batch, so a burst costs one transaction per batch instead of one per item, while a
 * lone item is written on the next turn of the event loop (no timer, no wait when idle).
 *
 * - at most `maxInFlight` batches are written at a time, each of at most `maxBatch` items;
 * - `submit` resolves with the item's own result once its batch committed, or rejects with the
 *   batch's error; a failed batch of several items is written again one item per batch, so one
 *   bad item fails alone (its caller retries or gives up; the others are recorded);
 * - every submitted promise settles: nothing is left pending by a failure.
 */
export class GroupCommit<T, R> {
  private readonly waiting: Array<{ item: T; resolve: (r: R) => void; reject: (e: unknown) => void }> = [];
  private readonly running = new Set<Promise<void>>();
  private scheduled = false;

  constructor(
    private readonly write: (items: T[]) => Promise<R[]>,
    private readonly options: { maxBatch: number; maxInFlight: number; onBatch?: (size: number) => void },
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
      const batch = this.waiting.splice(0, this.options.maxBatch);
      // run() never rejects (every outcome goes to the batch's callers); it is kept in `running`
      // until it ends, so idle() can await it.
      const running: Promise<void> = this.run(batch).finally(() => {
        this.running.delete(running);
        this.schedule();
      });
      this.running.add(running);
    }
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
