import { GroupCommit } from './group-commit';

/** A write whose batches end when the test says so. */
function controlledWrite() {
  const batches: number[][] = [];
  const gates: Array<() => void> = [];
  let failOn: number | null = null;
  const write = async (items: number[]): Promise<string[]> => {
    batches.push(items);
    await new Promise<void>((resolve) => gates.push(resolve));
    if (failOn !== null && items.includes(failOn)) throw new Error(`bad ${failOn}`);
    return items.map((i) => `r${i}`);
  };
  /** Ends every batch, including the ones that start meanwhile, until a few turns pass with none. */
  const releaseAll = async () => {
    for (let quiet = 0; quiet < 5; ) {
      if (gates.length) {
        gates.splice(0).forEach((g) => g());
        quiet = 0;
      } else quiet++;
      await new Promise((r) => setImmediate(r));
    }
  };
  return { write, batches, releaseAll, failWith: (n: number) => (failOn = n) };
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

describe('GroupCommit', () => {
  it('writes a lone item at once, and what arrives meanwhile as one batch', async () => {
    const w = controlledWrite();
    const commit = new GroupCommit(w.write, { maxBatch: 10, maxInFlight: 1 });
    const first = commit.submit(1);
    await turn();
    const rest = [2, 3, 4].map((n) => commit.submit(n));
    await turn();
    expect(w.batches).toEqual([[1]]);
    expect(commit.backlog).toBe(3);
    await w.releaseAll();
    await expect(first).resolves.toBe('r1');
    await expect(Promise.all(rest)).resolves.toEqual(['r2', 'r3', 'r4']);
    expect(w.batches).toEqual([[1], [2, 3, 4]]);
    await commit.idle();
  });

  it('caps batches and batches in flight', async () => {
    const w = controlledWrite();
    const commit = new GroupCommit(w.write, { maxBatch: 2, maxInFlight: 2 });
    const all = [1, 2, 3, 4, 5, 6].map((n) => commit.submit(n));
    await turn();
    expect(w.batches).toEqual([[1, 2], [3, 4]]);
    await w.releaseAll();
    await Promise.all(all);
    expect(w.batches).toEqual([[1, 2], [3, 4], [5, 6]]);
  });

  it('retries a failed batch item by item, so only the bad item fails', async () => {
    const w = controlledWrite();
    w.failWith(3);
    const commit = new GroupCommit(w.write, { maxBatch: 10, maxInFlight: 1 });
    const first = commit.submit(1);
    await turn();
    const results = [2, 3, 4].map((n) => commit.submit(n).then((r) => r, (e: Error) => e.message));
    await turn();
    await w.releaseAll();
    await first;
    await expect(Promise.all(results)).resolves.toEqual(['r2', 'bad 3', 'r4']);
    expect(w.batches).toEqual([[1], [2, 3, 4], [2], [3], [4]]);
  });

  it('lets the callers of a committed batch submit their next items together', async () => {
    const w = controlledWrite();
    const commit = new GroupCommit(w.write, { maxBatch: 100, maxInFlight: 1 });
    // Five callers, each submitting again as soon as its previous item committed (like sessions).
    const callers = [1, 2, 3, 4, 5].map(async (n) => {
      await commit.submit(n);
      await commit.submit(n + 10);
    });
    await turn();
    await w.releaseAll();
    await Promise.all(callers);
    expect(w.batches).toEqual([[1, 2, 3, 4, 5], [11, 12, 13, 14, 15]]);
    await commit.idle();
  });

  it('with keyOf, keeps a key\'s items in submission order: none goes in a batch beside a running batch of its key', async () => {
    const w = controlledWrite();
    // Keys by tens: 11, 12, 13 are key 1; 21, 22 key 2; 31 key 3.
    const commit = new GroupCommit(w.write, { maxBatch: 2, maxInFlight: 2, keyOf: (n: number) => String(Math.floor(n / 10)) });
    const all = [11, 12, 13, 21, 22, 31].map((n) => commit.submit(n));
    await turn();
    // Batch 1 takes 11 and 12; 13 must not run beside them, and 21, 22 fill batch 2; 31 waits (full).
    expect(w.batches).toEqual([
      [11, 12],
      [21, 22],
    ]);
    await w.releaseAll();
    await expect(Promise.all(all)).resolves.toEqual(['r11', 'r12', 'r13', 'r21', 'r22', 'r31']);
    const at = (n: number) => w.batches.findIndex((b) => b.includes(n));
    expect(at(13)).toBeGreaterThan(at(12));
    expect(w.batches.flat().sort()).toEqual([11, 12, 13, 21, 22, 31]);
    await commit.idle();
  });

  it('with keyOf, leaves a key\'s later items waiting behind its first waiting one and takes other keys meanwhile', async () => {
    const w = controlledWrite();
    const commit = new GroupCommit(w.write, { maxBatch: 10, maxInFlight: 2, keyOf: (n: number) => String(Math.floor(n / 10)) });
    const first = commit.submit(11);
    await turn();
    const rest = [12, 21, 13, 22].map((n) => commit.submit(n));
    await turn();
    // 11 is being written: 12 and 13 wait for it; 21 and 22 go at once.
    expect(w.batches).toEqual([[11], [21, 22]]);
    await w.releaseAll();
    await first;
    await Promise.all(rest);
    expect(w.batches).toEqual([[11], [21, 22], [12, 13]]);
    await commit.idle();
  });
});
