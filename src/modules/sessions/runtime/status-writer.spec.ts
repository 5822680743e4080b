import { mergeUpdates, StatusWriter, type StatusUpdate } from './status-writer';

function writer(debounceMs: number) {
  const written: StatusUpdate[] = [];
  const scheduled: Array<() => Promise<void>> = [];
  const w = new StatusWriter(
    debounceMs,
    async (update) => void written.push(update),
    (flush) => void scheduled.push(flush),
  );
  return { w, written, scheduled };
}

describe('StatusWriter', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('writes final statuses at once', async () => {
    const { w, written } = writer(5000);
    await w.write({ status: 'WORKING', patch: { lastError: null } });
    expect(written).toEqual([{ status: 'WORKING', patch: { lastError: null } }]);
  });

  it('debounces transient statuses and flushes them through the schedule callback', async () => {
    const { w, written, scheduled } = writer(5000);
    await w.write({ status: 'STARTING', patch: { queuedAt: null } });
    await w.write({ status: 'RECONNECTING', patch: { reconnectAttempts: 1 } });
    expect(written).toEqual([]);
    jest.advanceTimersByTime(5000);
    expect(scheduled).toHaveLength(1);
    await scheduled[0]!();
    expect(written).toEqual([{ status: 'RECONNECTING', patch: { queuedAt: null, reconnectAttempts: 1 } }]);
  });

  // Defect: a final status used to DROP the pending transient patch, losing a start's
  // queuedAt: null, the stats reset, the attempt reset and HALF_OPEN when the QR came within the debounce.
  it('carries the pending transient fields into the final write', async () => {
    const { w, written, scheduled } = writer(5000);
    await w.write({ status: 'STARTING', patch: { queuedAt: null, reconnectAttempts: 0, circuitState: 'HALF_OPEN' }, stats: { reset: true } });
    await w.write({ status: 'SCAN_QR', patch: { qr: 'ref' } });
    expect(written).toEqual([
      { status: 'SCAN_QR', patch: { queuedAt: null, reconnectAttempts: 0, circuitState: 'HALF_OPEN', qr: 'ref' }, stats: { reset: true } },
    ]);
    jest.advanceTimersByTime(10_000);
    expect(scheduled).toHaveLength(0);
  });

  it('merges stats changes: a reset stays a reset when connectedSince follows', () => {
    const merged = mergeUpdates({ status: 'STARTING', stats: { reset: true } }, { status: 'WORKING', stats: { connectedSince: 'x' } });
    expect(merged.stats).toEqual({ reset: true, connectedSince: 'x' });
  });

  it('discard drops what is pending', async () => {
    const { w, written, scheduled } = writer(5000);
    await w.write({ status: 'STARTING' });
    expect(w.pendingStatus).toBe('STARTING');
    w.discard();
    jest.advanceTimersByTime(10_000);
    await w.flush();
    expect(written).toEqual([]);
    expect(scheduled).toEqual([]);
  });

  it('writes everything at once without a debounce', async () => {
    const { w, written } = writer(0);
    await w.write({ status: 'STARTING' });
    expect(written).toEqual([{ status: 'STARTING' }]);
  });
});
