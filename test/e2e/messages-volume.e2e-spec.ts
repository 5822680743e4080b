import { sessionsApi } from '../helpers/sessions-api';
import { startTestApp, type TestApp } from '../helpers/test-app';
import { waitFor } from '../helpers/test-env';

/**
 * A volume of outbound messages through the real pipeline: 300 messages from
 * 3 sessions to 30 contacts (10 chats each, 10 messages per chat), accepted
 * interleaved across sessions and chats. Every contact ends with its chat
 * complete, each message once, in the order it was accepted.
 */
describe('300 messages from 3 sessions to 30 contacts (sandbox, real Baileys)', () => {
  let t: TestApp;
  const key = <R extends { set(name: string, value: string): R }>(r: R) => r.set('X-Api-Key', t.apiKey);

  beforeAll(async () => {
    t = await startTestApp({ SANDBOX: 'true', STATUS_DEBOUNCE_MS: '0', HUMANIZE_ENABLED: 'false', DEFAULT_RATE_LIMIT_PER_MINUTE: '100000' });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('arrive complete, once, and in per-chat order', async () => {
    const api = sessionsApi(t);
    const sessions = ['vol-a', 'vol-b', 'vol-c'];
    for (const [i, name] of sessions.entries()) {
      await api.create(name);
      await api.pair(name, `551197500000${i}`);
    }
    const chatsOf = (s: number) => Array.from({ length: 10 }, (_, c) => `5511974${s}${String(c).padStart(5, '0')}`);
    const expected = new Map<string, string[]>();
    const posts: Array<Promise<{ status: number }>> = [];
    for (let round = 0; round < 10; round++) {
      for (const [s, name] of sessions.entries()) {
        for (const to of chatsOf(s)) {
          const text = `${name} round ${round}`;
          expected.set(to, [...(expected.get(to) ?? []), text]);
          // Accepted in this order per chat: each request waits for the previous one of its chat.
          posts.push(key(t.http.post(`/api/sessions/${name}/messages`)).send({ to, type: 'text', text }));
        }
      }
      // One round of 30 requests at a time keeps the order within each chat (a chat has one message per round).
      expect((await Promise.all(posts.splice(0))).map((r) => r.status)).toEqual(Array(30).fill(202));
    }
    for (const [to, texts] of expected) {
      // Generous: the first chat waits for most of the volume; CI runs two suites at once on 2 cores.
      const inbox = await waitFor(async () => {
        const got = (await key(t.http.get(`/api/sandbox/contacts/${to}/messages`))).body as Array<{ text: string; copies: number }>;
        return got.length >= texts.length ? got : null;
      }, `${texts.length} messages at ${to}`, 150_000);
      expect(inbox.map((m) => m.text)).toEqual(texts);
      expect(inbox.every((m) => m.copies === 1)).toBe(true);
    }
  }, 240_000);
});
