/** What one batch did: the rows it changed, and whether another batch may find more. */
export type BatchResult = number | { rows: number; more: boolean };

export interface BatchLoopOptions {
  /** Rows one statement handles at most: a batch that comes back with fewer means the work is done. */
  batchSize: number;
  /** Checked before every batch: a run that is told to stop (shutdown, lock lost) ends between statements. */
  signal?: AbortSignal;
  /** Called after every batch with its rows (metrics count as the run goes, so a failed run still counts what it did). */
  onBatch?: (rows: number) => void;
  /**
   * Pause after every full batch: leaves the database (and the machine's cores) to the
   * application's own queries between two statements.
   */
  pauseMs?: number;
}

/**
 * Runs `batch(limit)` again and again until a batch changes fewer than
 * `batchSize` rows (or says there is no more): short statements, each its own
 * commit, never one giant one. Returns the rows of all batches. Rejects with
 * the signal's reason when aborted, or with a batch's error (the rows of the
 * batches before it were reported through `onBatch`).
 */
export async function inBatches(batch: (limit: number) => Promise<BatchResult>, options: BatchLoopOptions): Promise<number> {
  if (!Number.isInteger(options.batchSize) || options.batchSize < 1) throw new Error(`batchSize must be a positive integer (got ${options.batchSize})`);
  let total = 0;
  for (;;) {
    options.signal?.throwIfAborted();
    const result = await batch(options.batchSize);
    const { rows, more } = typeof result === 'number' ? { rows: result, more: result >= options.batchSize } : result;
    total += rows;
    if (rows) options.onBatch?.(rows);
    if (!more) return total;
    if (options.pauseMs) await new Promise((resolve) => setTimeout(resolve, options.pauseMs));
  }
}
