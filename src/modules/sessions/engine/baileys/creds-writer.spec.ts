import { CredsWriter } from './creds-writer';

const tick = () => new Promise((r) => setTimeout(r, 0));

describe('CredsWriter', () => {
  it('writes one at a time and coalesces a burst into one more write of the newest state', async () => {
    let state = 0;
    const writes: string[] = [];
    let concurrent = 0;
    let maxConcurrent = 0;
    const writer = new CredsWriter({
      snapshot: () => String(state),
      save: async (s) => {
        concurrent++;
        maxConcurrent = Math.max(maxConcurrent, concurrent);
        await tick();
        writes.push(s);
        concurrent--;
      },
    });
    state = 1;
    writer.request();
    for (state = 2; state <= 5; state++) writer.request();
    state = 5;
    await writer.flush();
    expect(maxConcurrent).toBe(1);
    expect(writes).toEqual(['1', '5']);
  });

  it('retries a failed write and never loses the last state', async () => {
    let fail = true;
    const writes: string[] = [];
    const errors: unknown[] = [];
    const writer = new CredsWriter({
      snapshot: () => 'latest',
      save: async (s) => {
        if (fail) throw new Error('db down');
        writes.push(s);
      },
      onError: (e) => errors.push(e),
      retryMs: 10,
    });
    writer.request();
    await tick();
    expect(errors).toHaveLength(1);
    fail = false;
    await new Promise((r) => setTimeout(r, 30));
    expect(writes).toEqual(['latest']);
    await writer.stop();
  });

  it('stop() makes a final attempt at once and then ignores requests', async () => {
    let fail = true;
    const writes: string[] = [];
    const writer = new CredsWriter({
      snapshot: () => 's',
      save: async (s) => {
        if (fail) throw new Error('db down');
        writes.push(s);
      },
      retryMs: 60_000,
    });
    writer.request();
    await tick();
    fail = false;
    await writer.stop();
    expect(writes).toEqual(['s']);
    writer.request();
    await writer.flush();
    expect(writes).toEqual(['s']);
  });
});
