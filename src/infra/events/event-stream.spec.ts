import { Writable } from 'node:stream';
import type { EventEnvelope } from './event-log';
import { LiveEventStream, sseFrame, type StreamSource } from './event-stream';

const envelope = (sequence: number): EventEnvelope => ({
  id: `evt_${String(sequence).padStart(32, '0')}`,
  event: 'test.event',
  session: 's1',
  sequence,
  timestamp: '2026-12-06T00:00:00.000Z',
  data: { pad: 'x'.repeat(200) },
});

/** A client socket: `consume` false models a client that stopped reading (its buffer fills at 1 KB). */
function client(consume: boolean) {
  const chunks: string[] = [];
  const pending: Array<() => void> = [];
  const target = new Writable({
    highWaterMark: 1024,
    write(chunk: Buffer, _enc, callback) {
      chunks.push(chunk.toString());
      if (consume) callback();
      else pending.push(callback);
    },
  });
  return { target, chunks, resume: () => {
      // Each completed write lets the Writable hand over its next buffered chunk at once.
      while (pending.length) pending.shift()!();
    },
  };
}

/** A log of `total` events, read in pages of 100 like EventLog.page. */
function source(total: { n: number }, overrides: Partial<StreamSource<EventEnvelope>> = {}, after = 0) {
  const wakes: Array<() => void> = [];
  const reads: number[] = [];
  let cursor = after;
  const src: StreamSource<EventEnvelope> = {
    read: async () => {
      reads.push(cursor);
      const items: EventEnvelope[] = [];
      for (let s = cursor + 1; s <= total.n && items.length < 100; s++) items.push(envelope(s));
      return items;
    },
    advance: (event) => (cursor = event.sequence),
    listen: (wake) => {
      wakes.push(wake);
      return () => wakes.splice(wakes.indexOf(wake), 1);
    },
    onSlowClient: jest.fn(),
    onFailure: jest.fn(),
    ...overrides,
  };
  return { src, wakes, reads };
}

const timing = { heartbeatMs: 60_000, pollMs: 60_000, slowClientMs: 200 };
const sequences = (chunks: string[]) =>
  chunks
    .join('')
    .split('\n')
    .filter((l) => l.startsWith('id: '))
    .map((l) => Number(l.split(':')[2]));

describe('LiveEventStream', () => {
  it('frames an event as SSE with id <session>:<sequence>', () => {
    expect(sseFrame(envelope(7))).toBe(`id: s1:7\nevent: test.event\ndata: ${JSON.stringify(envelope(7))}\n\n`);
  });

  it('frames only the envelope: what a stream keeps beside it (a session id) is not sent', () => {
    expect(sseFrame({ ...envelope(7), sessionId: 'uuid-1' } as EventEnvelope)).toBe(sseFrame(envelope(7)));
  });

  it('sends everything after the cursor page by page, then what a wake-up announces', async () => {
    const total = { n: 250 };
    const { target, chunks } = client(true);
    const { src, wakes } = source(total, {}, 20);
    const stream = new LiveEventStream(target, timing, src);
    const running = stream.run();
    await waitUntil(() => sequences(chunks).length === 230);
    total.n = 253;
    wakes.forEach((w) => w());
    await waitUntil(() => sequences(chunks).length === 233);
    expect(sequences(chunks)).toEqual(Array.from({ length: 233 }, (_, i) => i + 21));
    await stream.close();
    await running;
    expect(wakes).toHaveLength(0);
  });

  it('stops reading while the client does not drain, and drops it after slowClientMs', async () => {
    const total = { n: 1000 };
    const { target } = client(false);
    const { src, reads } = source(total);
    const stream = new LiveEventStream(target, timing, src);
    const running = stream.run();
    await running; // ends: the client never drains, so it is dropped
    expect(reads).toEqual([0]); // one page read, nothing more buffered for it
    expect(src.onSlowClient).toHaveBeenCalledTimes(1);
    expect(target.destroyed).toBe(true);
  });

  it('goes on once a slow client drains in time', async () => {
    const total = { n: 300 };
    const c = client(false);
    const { src, reads } = source(total);
    const stream = new LiveEventStream(c.target, { ...timing, slowClientMs: 5000 }, src);
    const running = stream.run();
    await waitUntil(() => reads.length === 1);
    const timer = setInterval(c.resume, 5);
    try {
      await waitUntil(() => sequences(c.chunks).length === 300);
    } finally {
      clearInterval(timer);
    }
    expect(src.onSlowClient).not.toHaveBeenCalled();
    await stream.close();
    await running;
  });

  it('ends the stream when a read fails (the client resumes with Last-Event-ID)', async () => {
    const { target } = client(true);
    const failure = new Error('database down');
    const { src } = source({ n: 0 }, { read: () => Promise.reject(failure) });
    await new LiveEventStream(target, timing, src).run();
    expect(src.onFailure).toHaveBeenCalledWith(failure);
    expect(target.destroyed).toBe(true);
  });

  it('writes heartbeat comments on its interval', async () => {
    const { target, chunks } = client(true);
    const { src } = source({ n: 0 });
    const stream = new LiveEventStream(target, { ...timing, heartbeatMs: 10 }, src);
    const running = stream.run();
    await waitUntil(() => chunks.filter((c) => c === ': heartbeat\n\n').length >= 2);
    await stream.close();
    await running;
  });
});

async function waitUntil(predicate: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}
