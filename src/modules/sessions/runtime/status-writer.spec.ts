import { StatusWriter, type StatusUpdate } from './status-writer';

describe('StatusWriter', () => {
  let written: StatusUpdate[];
  const persist = async (u: StatusUpdate) => {
    written.push(u);
  };

  beforeEach(() => {
    written = [];
    jest.useFakeTimers();
  });
  afterEach(() => jest.useRealTimers());

  it('debounces transient statuses, keeping the newest', async () => {
    const w = new StatusWriter(5000, persist, () => undefined);
    void w.write({ status: 'RECONNECTING', patch: { reconnectAttempts: 1 } });
    void w.write({ status: 'RECONNECTING', patch: { reconnectAttempts: 2 } });
    expect(written).toEqual([]);
    jest.advanceTimersByTime(5000);
    await w.dispose();
    expect(written).toEqual([{ status: 'RECONNECTING', patch: { reconnectAttempts: 2 } }]);
  });

  it('writes a final status at once and drops the stale transient one', async () => {
    const w = new StatusWriter(5000, persist, () => undefined);
    void w.write({ status: 'RECONNECTING' });
    await w.write({ status: 'LOGGED_OUT', patch: { lastError: 'x' } });
    jest.advanceTimersByTime(10000);
    await w.dispose();
    expect(written).toEqual([{ status: 'LOGGED_OUT', patch: { lastError: 'x' } }]);
  });

  it('writes everything at once when the debounce is 0', async () => {
    const w = new StatusWriter(0, persist, () => undefined);
    void w.write({ status: 'STARTING' });
    await w.write({ status: 'WORKING' });
    expect(written.map((u) => u.status)).toEqual(['STARTING', 'WORKING']);
  });

  it('keeps write order even when a persist is slow', async () => {
    jest.useRealTimers();
    const order: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const w = new StatusWriter(0, async (u) => {
      if (u.status === 'STARTING') await gate;
      order.push(u.status);
    }, () => undefined);
    void w.write({ status: 'STARTING' });
    const last = w.write({ status: 'WORKING' });
    release();
    await last;
    expect(order).toEqual(['STARTING', 'WORKING']);
  });

  it('reports persist errors without breaking the chain', async () => {
    const errors: unknown[] = [];
    const w = new StatusWriter(0, async (u) => {
      if (u.status === 'STARTING') throw new Error('db down');
      written.push(u);
    }, (e) => errors.push(e));
    void w.write({ status: 'STARTING' });
    await w.write({ status: 'WORKING' });
    expect(errors).toHaveLength(1);
    expect(written.map((u) => u.status)).toEqual(['WORKING']);
  });
});
