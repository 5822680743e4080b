import { InboundCommitGate } from './inbound-commit-gate';

const frame = (n: number) => Uint8Array.of(n);
const tick = () => new Promise((resolve) => setImmediate(resolve));

function harness(settleTimeoutMs = 60_000) {
  const written: number[] = [];
  const timeouts: string[][] = [];
  const gate = new InboundCommitGate({
    send: (data, cb) => {
      written.push(data[0]!);
      if (cb) queueMicrotask(() => cb());
    },
    settleTimeoutMs,
    onTimeout: (ids) => timeouts.push(ids),
    onWriteError: () => undefined,
  });
  return { gate, written, timeouts };
}

describe('InboundCommitGate', () => {
  it('writes at once while no inbound message is pending', async () => {
    const { gate, written } = harness();
    const cb = jest.fn();
    gate.send(frame(1), cb);
    await tick();
    expect(written).toEqual([1]);
    expect(cb).toHaveBeenCalledWith();
    await expect(gate.whenWritten()).resolves.toBeUndefined();
  });

  it('holds every frame sent after a message arrived until it settles, in order, telling the sender "written" at once', async () => {
    const { gate, written } = harness();
    gate.messageArrived('A');
    const cb = jest.fn();
    gate.send(frame(1), cb); // the receipt of A (it cannot be told apart from other frames)
    gate.send(frame(2));
    await tick();
    expect(cb).toHaveBeenCalled(); // Baileys goes on to upsert A
    expect(written).toEqual([]);
    const left = gate.whenWritten();
    gate.settled('A');
    expect(written).toEqual([1, 2]);
    await expect(left).resolves.toBeUndefined();
    gate.send(frame(3));
    expect(written).toEqual([1, 2, 3]);
  });

  it('lets a frame go once the messages that arrived before it settled, not those after it (no starvation)', () => {
    const { gate, written } = harness();
    gate.messageArrived('A');
    gate.send(frame(1));
    gate.messageArrived('B');
    gate.send(frame(2));
    gate.settled('A');
    expect(written).toEqual([1]);
    gate.messageArrived('C');
    gate.send(frame(3));
    gate.settled('C'); // C settled before B: frame 3 still waits behind frame 2 (order)
    expect(written).toEqual([1]);
    gate.settled('B');
    expect(written).toEqual([1, 2, 3]);
    expect(gate.pendingMessages).toBe(0);
  });

  it('a message delivered twice settles with its upsert; unknown ids change nothing', () => {
    const { gate, written } = harness();
    gate.messageArrived('A');
    gate.messageArrived('A');
    gate.send(frame(1));
    gate.settled('X');
    expect(written).toEqual([]);
    gate.settled('A');
    expect(written).toEqual([1]);
  });

  it('releases after the safety timeout, reporting the messages', async () => {
    jest.useFakeTimers();
    try {
      const { gate, written, timeouts } = harness(1000);
      gate.messageArrived('A');
      gate.send(frame(1));
      jest.advanceTimersByTime(500);
      gate.messageArrived('B');
      gate.send(frame(2));
      jest.advanceTimersByTime(600);
      expect(timeouts).toEqual([['A']]);
      expect(written).toEqual([1]);
      jest.advanceTimersByTime(500);
      expect(timeouts).toEqual([['A'], ['B']]);
      expect(written).toEqual([1, 2]);
    } finally {
      jest.useRealTimers();
    }
  });

  it('drops held frames on close and fails whoever waits for them', async () => {
    const { gate, written } = harness();
    gate.messageArrived('A');
    gate.send(frame(1));
    const left = gate.whenWritten();
    gate.close();
    await expect(left).rejects.toThrow('connection closed');
    gate.settled('A');
    expect(written).toEqual([]);
  });
});

describe('InboundCommitGate key writes', () => {
  it('runs a write at once when nothing is pending, else in order with the frames, each after the writes before it', async () => {
    const { gate, written } = harness();
    expect(gate.deferWrite(async () => undefined)).toBe(false);
    gate.messageArrived('A');
    const log: string[] = [];
    let finishWrite!: () => void;
    expect(
      gate.deferWrite(async () => {
        log.push('write started');
        await new Promise<void>((resolve) => (finishWrite = resolve));
        log.push('write done');
      }),
    ).toBe(true);
    gate.send(frame(1));
    const through = gate.whenWritten();
    gate.settled('A');
    await tick();
    expect(log).toEqual(['write started']);
    expect(written).toEqual([]); // the frame waits for the key write before it
    gate.send(frame(2)); // still behind the running write
    finishWrite();
    await through;
    await tick();
    expect(log).toEqual(['write started', 'write done']);
    expect(written).toEqual([1, 2]);
  });

  it('drops held writes on close', () => {
    const { gate } = harness();
    gate.messageArrived('A');
    const run = jest.fn(async () => undefined);
    expect(gate.deferWrite(run)).toBe(true);
    gate.close();
    gate.settled('A');
    expect(run).not.toHaveBeenCalled();
    // A late write (a decrypt that finishes after the close) is dropped too: the message comes again.
    expect(gate.deferWrite(run)).toBe(true);
    expect(run).not.toHaveBeenCalled();
  });

  it('writes at once after a close with nothing unrecorded', () => {
    const { gate } = harness();
    gate.close();
    expect(gate.deferWrite(async () => undefined)).toBe(false);
  });
});
