import { inBatches } from './batching';

/** A table of `n` rows that each batch deletes from, like `DELETE ... WHERE id IN (SELECT ... LIMIT limit)`. */
function table(n: number) {
  let left = n;
  const limits: number[] = [];
  return {
    limits,
    get left() {
      return left;
    },
    delete: async (limit: number) => {
      limits.push(limit);
      const rows = Math.min(left, limit);
      left -= rows;
      return rows;
    },
  };
}

describe('inBatches', () => {
  it('loops until a batch comes back short, each statement bounded by the batch size', async () => {
    const t = table(12_345);
    const seen: number[] = [];
    expect(await inBatches(t.delete, { batchSize: 5000, onBatch: (n) => seen.push(n) })).toBe(12_345);
    expect(t.limits).toEqual([5000, 5000, 5000]);
    expect(seen).toEqual([5000, 5000, 2345]);
    expect(t.left).toBe(0);
  });

  it('needs one more statement when the rows are an exact multiple of the batch size', async () => {
    const t = table(10_000);
    expect(await inBatches(t.delete, { batchSize: 5000 })).toBe(10_000);
    expect(t.limits).toHaveLength(3);
  });

  it('runs one statement when nothing is there, and reports no empty batch', async () => {
    const t = table(0);
    const onBatch = jest.fn();
    expect(await inBatches(t.delete, { batchSize: 5000, onBatch })).toBe(0);
    expect(t.limits).toHaveLength(1);
    expect(onBatch).not.toHaveBeenCalled();
  });

  it('follows an explicit `more` (a batch cut short by a byte budget goes on; an empty one stops)', async () => {
    const results = [
      { rows: 3, more: true },
      { rows: 1, more: true },
      { rows: 0, more: false },
    ];
    const batch = jest.fn(async () => results.shift()!);
    expect(await inBatches(batch, { batchSize: 100 })).toBe(4);
    expect(batch).toHaveBeenCalledTimes(3);
  });

  it('stops between batches once aborted, with the reason, after reporting what was done', async () => {
    const t = table(100_000);
    const controller = new AbortController();
    const seen: number[] = [];
    const reason = new Error('shutting down');
    const run = inBatches(
      async (limit) => {
        const rows = await t.delete(limit);
        if (t.limits.length === 2) controller.abort(reason);
        return rows;
      },
      { batchSize: 1000, signal: controller.signal, onBatch: (n) => seen.push(n) },
    );
    await expect(run).rejects.toBe(reason);
    expect(seen).toEqual([1000, 1000]);
    expect(t.left).toBe(98_000);
  });

  it('rejects with the failing batch error after counting the batches before it', async () => {
    const seen: number[] = [];
    let calls = 0;
    const run = inBatches(
      async () => {
        if (++calls === 3) throw new Error('database down');
        return 10;
      },
      { batchSize: 10, onBatch: (n) => seen.push(n) },
    );
    await expect(run).rejects.toThrow('database down');
    expect(seen).toEqual([10, 10]);
  });

  it('pauses between full batches only (not after the last one)', async () => {
    jest.useFakeTimers();
    try {
      const t = table(2500);
      const run = inBatches(t.delete, { batchSize: 1000, pauseMs: 50 });
      await jest.advanceTimersByTimeAsync(0);
      expect(t.limits).toHaveLength(1);
      await jest.advanceTimersByTimeAsync(49);
      expect(t.limits).toHaveLength(1);
      await jest.advanceTimersByTimeAsync(1);
      expect(t.limits).toHaveLength(2);
      await jest.advanceTimersByTimeAsync(50);
      expect(await run).toBe(2500);
      expect(t.limits).toHaveLength(3);
    } finally {
      jest.useRealTimers();
    }
  });

  it('refuses a batch size that could loop forever', async () => {
    await expect(inBatches(async () => 0, { batchSize: 0 })).rejects.toThrow(/positive integer/);
  });
});
