import type { EventEnvelope } from './event-log';
import { SessionCursors, type SessionsReader } from './session-cursors';

/** An in-memory log: session id → its last sequence (events 1..n), read like EventLog.page. */
function log(lasts: Record<string, number>) {
  const reads: Array<[string, number, number]> = [];
  const reader: SessionsReader = {
    changed: async (cursors) => new Map(Object.entries(lasts).filter(([id, last]) => last > (cursors.get(id) ?? 0))),
    after: async (sessionId, after, limit) => {
      reads.push([sessionId, after, limit]);
      const items: EventEnvelope[] = [];
      for (let s = after + 1; s <= lasts[sessionId]! && items.length < limit; s++) {
        items.push({ id: `evt_${sessionId}_${s}`, event: 'test.event', session: `name-${sessionId}`, sequence: s, timestamp: '2026-12-06T00:00:00.000Z', data: {} });
      }
      return items;
    },
  };
  return { lasts, reader, reads };
}

/** Reads and advances past everything, as the stream does, until a short page. */
async function drain(cursors: SessionCursors, limit: number): Promise<string[][]> {
  const pages: string[][] = [];
  for (;;) {
    const page = await cursors.read(limit);
    pages.push(page.map((e) => `${e.sessionId}:${e.sequence}`));
    for (const e of page) cursors.advance(e);
    if (page.length < limit) return pages;
  }
}

describe('SessionCursors', () => {
  it('starts from the positions it was given: only what came after, new sessions from their first event', async () => {
    const l = log({ a: 3, b: 1 });
    const cursors = new SessionCursors(new Map([['a', 3], ['b', 1]]), l.reader);
    expect(await cursors.read(100)).toEqual([]);
    l.lasts.a = 5;
    l.lasts.c = 2; // created after the stream opened
    const page = await cursors.read(100);
    expect(page.map((e) => `${e.sessionId}:${e.sequence}`)).toEqual(['a:4', 'a:5', 'c:1', 'c:2']);
    // Each event keeps the session id its cursor is kept under, beside the envelope.
    expect(page[0]).toMatchObject({ sessionId: 'a', session: 'name-a', sequence: 4 });
  });

  it('does not move a cursor until advance (an unsent event is read again)', async () => {
    const l = log({ a: 2 });
    const cursors = new SessionCursors(new Map(), l.reader);
    expect((await cursors.read(100)).length).toBe(2);
    const again = await cursors.read(100);
    expect(again.map((e) => e.sequence)).toEqual([1, 2]);
    cursors.advance(again[0]!);
    expect((await cursors.read(100)).map((e) => e.sequence)).toEqual([2]);
  });

  it('shares a page between busy sessions, and fills it only when more is left (a short page: all caught up)', async () => {
    const l = log({ busy: 250, quiet: 3 });
    const cursors = new SessionCursors(new Map(), l.reader);
    const pages = await drain(cursors, 100);
    expect(pages.map((p) => p.length)).toEqual([100, 100, 53]);
    // The quiet session is in the first page, not behind the busy one's backlog.
    expect(pages[0]).toEqual(expect.arrayContaining(['quiet:1', 'quiet:2', 'quiet:3']));
    const all = pages.flat();
    expect(all.filter((k) => k.startsWith('busy:'))).toEqual(Array.from({ length: 250 }, (_, i) => `busy:${i + 1}`));
    expect(new Set(all).size).toBe(all.length);
  });

  it('serves more sessions than a page holds over several pages, missing none', async () => {
    const lasts: Record<string, number> = {};
    for (let i = 0; i < 150; i++) lasts[`s${i}`] = 2;
    const cursors = new SessionCursors(new Map(), log(lasts).reader);
    const all = (await drain(cursors, 100)).flat();
    expect(all).toHaveLength(300);
    expect(new Set(all).size).toBe(300);
  });
});
