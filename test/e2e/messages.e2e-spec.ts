import { SandboxNetwork } from '../../src/modules/sandbox/network/sandbox-network';
import { waMessageIdFor } from '../../src/modules/messaging/wa-message-id';
import { query } from '../helpers/db-query';
import { sessionsApi } from '../helpers/sessions-api';
import { startTestApp, type TestApp } from '../helpers/test-app';
import { createTestEnv, waitFor, type TestEnv } from '../helpers/test-env';
import { TcpProxy } from '../helpers/tcp-proxy';

interface MessageBody {
  id: string;
  session: string;
  chatId: string;
  direction: string;
  type: string;
  status: string;
  text: string | null;
  attempts: number;
  error: string | null;
  waMessageId: string | null;
  createdAt: string;
  sentAt: string | null;
  deliveredAt: string | null;
  readAt: string | null;
}

/** The rate limit's window in this file's app (60 s in production). */
const WINDOW_MS = 2000;

interface InboxEntry {
  from: string;
  text: string | null;
  type: string;
  waMessageId: string;
  copies: number;
  quotedId?: string;
  reaction?: { waMessageId: string; emoji: string };
}

/**
 * Outbound messages end to end: the REST route, the outbox in PostgreSQL, the
 * drain on the session's owner and the real Baileys client sending to the
 * sandbox's fake contacts.
 */
describe('outbound messages (sandbox, real Baileys, PostgreSQL, Redis)', () => {
  let t: TestApp;
  const key = <R extends { set(name: string, value: string): R }>(r: R) => r.set('X-Api-Key', t.apiKey);
  const send = (session: string, body: Record<string, unknown>, idempotencyKey?: string) => {
    const req = key(t.http.post(`/api/sessions/${session}/messages`));
    return (idempotencyKey === undefined ? req : req.set('Idempotency-Key', idempotencyKey)).send(body);
  };
  const getMessage = async (id: string) => (await key(t.http.get(`/api/messages/${id}`))).body as MessageBody;
  const inbox = async (phone: string) => (await key(t.http.get(`/api/sandbox/contacts/${phone}/messages`))).body as InboxEntry[];
  /** Receipts move a sent message on (DELIVERED, READ): waiting for SENT means "sent at least". */
  const SENT_OR_LATER = ['SENT', 'DELIVERED', 'READ'];
  const waitForStatus = (id: string, status: string, timeoutMs = 15000) =>
    waitFor(
      async () => {
        const m = await getMessage(id);
        return m.status === status || (status === 'SENT' && SENT_OR_LATER.includes(m.status)) ? m : null;
      },
      `message ${id} ${status}`,
      timeoutMs,
    );
  const rowsOf = async (table: 'Message' | 'MessageQueueItem' | 'IdempotencyKey') => Number((await query<{ n: string }>(t.env.databaseUrl, `SELECT count(*) AS n FROM "${table}"`))[0]!.n);

  beforeAll(async () => {
    t = await startTestApp({ SANDBOX: 'true', STATUS_DEBOUNCE_MS: '0', HUMANIZE_ENABLED: 'false', RATE_LIMIT_WINDOW_MS: String(WINDOW_MS) });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('sends a text: 202 QUEUED at once, then SENT with the WhatsApp id derived from its id, in the contact inbox once', async () => {
    const api = sessionsApi(t);
    await api.create('sender');
    await api.pair('sender', '5511970000001');
    const res = await send('sender', { to: '+55 11 97000-0101', type: 'text', text: 'hello from the outbox' });
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ session: 'sender', chatId: '5511970000101@s.whatsapp.net', direction: 'outbound', type: 'text', status: 'QUEUED', text: 'hello from the outbox', waMessageId: null });
    const sent = await waitForStatus(res.body.id, 'SENT');
    expect(sent.waMessageId).toBe(waMessageIdFor(res.body.id));
    expect(sent.attempts).toBe(1);
    expect(sent.sentAt).not.toBeNull();
    const received = await waitFor(async () => (await inbox('5511970000101')).find((m) => m.waMessageId === sent.waMessageId), 'the text at the contact');
    expect(received).toMatchObject({ from: '5511970000001', text: 'hello from the outbox', type: 'text', copies: 1 });
    // The outbox row is gone at once; message.sent is in the event log with the Message.
    expect(Number((await query<{ n: string }>(t.env.databaseUrl, `SELECT count(*) AS n FROM "MessageQueueItem" WHERE "messageId" = $1`, [res.body.id]))[0]!.n)).toBe(0);
    const events = (await key(t.http.get('/api/sessions/sender/events?limit=1000'))).body.items as Array<{ event: string; data: MessageBody }>;
    // (A receipt can be recorded before the send's own commit: the event then shows the later status.)
    expect(events.filter((e) => e.event === 'message.sent').map((e) => e.data)).toEqual([
      expect.objectContaining({ id: res.body.id, status: expect.stringMatching(/^(SENT|DELIVERED|READ)$/), waMessageId: sent.waMessageId }),
    ]);
    expect((await api.session('sender')).stats).toMatchObject({ sent: 1 });

    // The contact's receipts: DELIVERED then READ, each once, with their times; never back.
    const read = await waitForStatus(res.body.id, 'READ');
    expect(read.deliveredAt).not.toBeNull();
    expect(read.readAt).not.toBeNull();
    expect(Date.parse(read.readAt!)).toBeGreaterThanOrEqual(Date.parse(read.deliveredAt!));
    const after = (await key(t.http.get('/api/sessions/sender/events?limit=1000'))).body.items as Array<{ event: string; data: MessageBody }>;
    const mine = (event: string) => after.filter((e) => e.event === event && e.data.id === res.body.id);
    expect(mine('message.read').map((e) => e.data.status)).toEqual(['READ']);
    expect(mine('message.delivered').length).toBeLessThanOrEqual(1);
    expect(mine('message.delivered').map((e) => e.data.status)).toEqual(mine('message.delivered').length ? ['DELIVERED'] : []);
  });

  it('keeps per-chat order for a burst to several chats, each message once', async () => {
    const api = sessionsApi(t);
    await api.create('burst');
    await api.pair('burst', '5511970000002');
    const contacts = ['5511970000201', '5511970000202', '5511970000203'];
    const ids: string[] = [];
    for (let i = 0; i < 30; i++) {
      const res = await send('burst', { to: contacts[i % 3], type: 'text', text: `message ${i}` });
      expect(res.status).toBe(202);
      ids.push(res.body.id);
    }
    for (const [c, phone] of contacts.entries()) {
      const expected = Array.from({ length: 10 }, (_, k) => `message ${k * 3 + c}`);
      const got = await waitFor(async () => {
        const texts = (await inbox(phone)).map((m) => m.text);
        return texts.length >= 10 ? texts : null;
      }, `10 messages at ${phone}`);
      expect(got).toEqual(expected);
    }
    for (const id of ids) expect(SENT_OR_LATER).toContain((await getMessage(id)).status);
  });

  it('accepts while the session is not WORKING and sends once it works', async () => {
    const api = sessionsApi(t);
    await api.create('later', { start: false });
    const res = await send('later', { to: '5511970000301', type: 'text', text: 'waited for the session' });
    expect(res.status).toBe(202);
    expect((await getMessage(res.body.id)).status).toBe('QUEUED');
    await key(t.http.post('/api/sessions/later/start'));
    await api.pair('later', '5511970000003');
    const sent = await waitForStatus(res.body.id, 'SENT');
    expect((await inbox('5511970000301')).map((m) => m.waMessageId)).toEqual([sent.waMessageId]);
  });

  it('sends location, contact and a reaction to an earlier message, and a reply', async () => {
    const api = sessionsApi(t);
    await api.create('kinds');
    await api.pair('kinds', '5511970000004');
    const to = '5511970000401';
    const text = await send('kinds', { to, type: 'text', text: 'react to me' });
    const location = await send('kinds', { to, type: 'location', location: { latitude: -23.55, longitude: -46.63, name: 'Sé' } });
    const contact = await send('kinds', { to, type: 'contact', contact: { name: 'Ana', phone: '+55 11 97777-6666' } });
    const reaction = await send('kinds', { to, type: 'reaction', reaction: { messageId: text.body.id, emoji: '👍' } });
    const reply = await send('kinds', { to, type: 'text', text: 'a reply', replyTo: text.body.id });
    for (const res of [text, location, contact, reaction, reply]) expect(res.status).toBe(202);
    for (const res of [text, location, contact, reaction, reply]) await waitForStatus(res.body.id, 'SENT');
    const got = await waitFor(async () => {
      const all = await inbox(to);
      return all.length >= 5 ? all : null;
    }, 'five messages at the contact');
    expect(got.map((m) => m.type)).toEqual(['text', 'location', 'contact', 'reaction', 'text']);
    expect(got[3]!.reaction).toEqual({ waMessageId: waMessageIdFor(text.body.id), emoji: '👍' });
    expect(got[4]).toMatchObject({ text: 'a reply', quotedId: waMessageIdFor(text.body.id) });
    expect(got[0]!.quotedId).toBeUndefined();
  });

  it('answers a repeat of an Idempotency-Key with the first response, 20 at once make one message, another body 422', async () => {
    const api = sessionsApi(t);
    await api.create('idem', { start: false });
    const body = { to: '5511970000501', type: 'text', text: 'only once' };
    const before = await rowsOf('Message');
    const answers = await Promise.all(Array.from({ length: 20 }, () => send('idem', body, 'order-42')));
    expect(answers.map((a) => a.status)).toEqual(Array(20).fill(202));
    expect(new Set(answers.map((a) => a.body.id)).size).toBe(1);
    expect(answers.every((a) => JSON.stringify(a.body) === JSON.stringify(answers[0]!.body))).toBe(true);
    expect(await rowsOf('Message')).toBe(before + 1);
    const again = await send('idem', { text: 'only once', type: 'text', to: '5511970000501' }, 'order-42');
    expect(again.status).toBe(202);
    expect(again.body).toEqual(answers[0]!.body);
    const other = await send('idem', { ...body, text: 'something else' }, 'order-42');
    expect(other.status).toBe(422);
    expect(await rowsOf('Message')).toBe(before + 1);
  });

  it('answers 400 naming each bad field, 404 for an unknown session, and stores nothing', async () => {
    const api = sessionsApi(t);
    await api.create('bad', { start: false });
    const counts = async () => [await rowsOf('Message'), await rowsOf('MessageQueueItem'), await rowsOf('IdempotencyKey')];
    const before = await counts();
    const cases: Array<[Record<string, unknown>, string[]]> = [
      [{ to: '123', type: 'text', text: 'x' }, ['to']],
      [{ to: '5511970000601', type: 'text' }, ['text']],
      [{ to: '5511970000601', type: 'text', text: '   ' }, ['text']],
      [{ to: '5511970000601', type: 'text', text: 'x'.repeat(65_537) }, ['text']],
      [{ to: '5511970000601', type: 'fax', text: 'x' }, ['type']],
      [{ to: '5511970000601', text: 'x' }, ['type']],
      [{ to: '5511970000601', type: 'location', location: { latitude: 91, longitude: -181 } }, ['location.latitude', 'location.longitude']],
      [{ to: '5511970000601', type: 'location' }, ['location']],
      [{ to: '5511970000601', type: 'contact', contact: { name: 'Ana', phone: '12' } }, ['contact.phone']],
      [{ to: '5511970000601', type: 'reaction', reaction: { messageId: 'nope', emoji: '👍' } }, ['reaction.messageId']],
      [{ to: '5511970000601', type: 'reaction', reaction: { messageId: '0b3c6f5e-8a52-4d7e-9b1f-2f6c1d0e9a11', emoji: '👍' } }, ['reaction.messageId']],
      [{ to: '5511970000601', type: 'text', text: 'x', location: { latitude: 1, longitude: 1 } }, ['location']],
      [{ to: '5511970000601', type: 'text', text: 'x', replyTo: '0b3c6f5e-8a52-4d7e-9b1f-2f6c1d0e9a11' }, ['replyTo']],
      [{ to: '5511970000601', type: 'image' }, ['media']],
      [{ to: '5511970000601', type: 'image', media: { url: 'ftp://example.com/a.jpg' } }, ['media.url']],
      [{ to: '5511970000601', type: 'image', media: { url: 'https://example.com/a.jpg', data: 'AAAA' } }, ['media']],
      [{ to: '5511970000601', type: 'image', media: { data: 'not base64!' } }, ['media.data']],
      [{ to: '5511970000601', type: 'image', media: { data: 'data:image/png;base64,AAAA' } }, ['media.data']],
      [{ to: '5511970000601', type: 'image', media: { data: 'AAAA' }, mimetype: 'application/pdf' }, ['mimetype']],
      [{ to: '5511970000601', type: 'video', media: { data: 'AAAA' }, mimetype: 'image/png', filename: 'a.mp4' }, ['mimetype', 'filename']],
      [{ to: '5511970000601', type: 'audio', media: { data: 'AAAA' }, text: 'a caption' }, ['text']],
      [{ to: '5511970000601', type: 'sticker', media: { data: 'AAAA' }, mimetype: 'image/png' }, ['mimetype']],
      [{ to: '5511970000601', type: 'document', media: { data: 'AAAA' }, mimetype: 'pdf' }, ['mimetype']],
      [{ to: '5511970000601', type: 'document', media: { data: 'AAAA' }, ptt: true }, ['ptt']],
      [{ to: '5511970000601', type: 'text', text: 'x', media: { data: 'AAAA' } }, ['media']],
    ];
    for (const [body, fields] of cases) {
      const res = await send('bad', body);
      if (res.status !== 400) throw new Error(`${JSON.stringify(body).slice(0, 120)}: expected 400, got ${res.status} ${JSON.stringify(res.body)}`);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      const named = (res.body.details as Array<{ field?: string }>).map((d) => d.field);
      for (const field of fields) expect({ body: JSON.stringify(body).slice(0, 80), named }).toEqual({ body: JSON.stringify(body).slice(0, 80), named: expect.arrayContaining([field]) });
    }
    const badKey = await send('bad', { to: '5511970000601', type: 'text', text: 'x' }, 'x'.repeat(256));
    expect(badKey.status).toBe(400);
    const unknown = await send('nobody', { to: '5511970000601', type: 'text', text: 'x' });
    expect(unknown.status).toBe(404);
    expect((await key(t.http.get('/api/messages/not-a-uuid'))).status).toBe(400);
    expect((await key(t.http.get('/api/messages/0b3c6f5e-8a52-4d7e-9b1f-2f6c1d0e9a11'))).status).toBe(404);
    expect((await key(t.http.get('/api/sessions/bad/messages?status=LOST'))).status).toBe(400);
    expect((await key(t.http.get('/api/sessions/bad/messages?chatId=12'))).status).toBe(400);
    expect(await counts()).toEqual(before);
  });

  it('cancels a QUEUED message (409 once it is not), retries only FAILED or EXPIRED, and lists newest first with a cursor', async () => {
    const api = sessionsApi(t);
    await api.create('ops', { start: false });
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await send('ops', { to: '5511970000701', type: 'text', text: `m${i}` })).body.id);
    const canceled = await key(t.http.delete(`/api/messages/${ids[0]}`));
    expect(canceled.status).toBe(200);
    expect(canceled.body).toMatchObject({ id: ids[0], status: 'CANCELED' });
    expect((await key(t.http.delete(`/api/messages/${ids[0]}`))).status).toBe(409);
    expect((await key(t.http.post(`/api/messages/${ids[1]}/retry`))).status).toBe(409);
    const page1 = await key(t.http.get('/api/sessions/ops/messages?limit=2'));
    expect(page1.status).toBe(200);
    expect(page1.body.items.map((m: MessageBody) => m.id)).toEqual([ids[2], ids[1]]);
    const page2 = await key(t.http.get(`/api/sessions/ops/messages?limit=2&cursor=${page1.body.nextCursor}`));
    expect(page2.body).toEqual({ items: [expect.objectContaining({ id: ids[0], status: 'CANCELED' })], nextCursor: null });
    const queued = await key(t.http.get('/api/sessions/ops/messages?status=QUEUED&chatId=5511970000701'));
    expect(queued.body.items.map((m: MessageBody) => m.id)).toEqual([ids[2], ids[1]]);
  });

  it('keeps to rateLimitPerMinute in any window: with 3 per window, the 4th message leaves a window after the 1st', async () => {
    const api = sessionsApi(t);
    await api.create('paced', { config: { rateLimitPerMinute: 3 } });
    await api.pair('paced', '5511970000010');
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) ids.push((await send('paced', { to: '5511970001001', type: 'text', text: `p${i}` })).body.id);
    const sent = [];
    for (const id of ids) sent.push(await waitForStatus(id, 'SENT', 20000));
    const at = sent.map((m) => Date.parse(m.sentAt!));
    // A permit is taken before its send and sentAt stamped after it: allow for sends of different
    // lengths between the two (unlimited, the 4th would leave a few ms after the 1st).
    for (let i = 0; i + 3 < at.length; i++) expect(at[i + 3]! - at[i]!).toBeGreaterThanOrEqual(WINDOW_MS - 500);
    // In order, and not slower than the limit needs (each window's three leave together).
    expect(at).toEqual([...at].sort((a, b) => a - b));
    expect(at[6]! - at[0]!).toBeLessThan(3 * WINDOW_MS);
  });

  it('with humanize on, marks what the contact sent read, shows "typing..." for a time in proportion to the text before each message, and leaves the chat gap', async () => {
    const api = sessionsApi(t);
    const humanize = { enabled: true, typingMsPerChar: 20, minTypingMs: 300, maxTypingMs: 1000, chatGapMs: 500 };
    await api.create('human', { config: { humanize } });
    await api.pair('human', '5511970000011');
    const to = '5511970001101';
    // The contact wrote first: the answer reads it before typing.
    const question = (await key(t.http.post('/api/sandbox/inbound')).send({ session: 'human', from: to, text: 'anyone there?' })).body.waMessageId as string;
    await waitFor(async () => ((await key(t.http.get(`/api/sessions/human/messages?direction=inbound&chatId=${to}`))).body.items as unknown[]).length === 1, 'the question recorded');
    const short = await send('human', { to, type: 'text', text: 'hi' });
    const long = await send('human', { to, type: 'text', text: 'x'.repeat(100) });
    await waitForStatus(long.body.id, 'SENT');
    await waitForStatus(short.body.id, 'SENT');
    const received = await waitFor(async () => {
      const got = await inbox(to);
      return got.length >= 2 ? got : null;
    }, 'both messages at the contact');
    const presences = (await key(t.http.get(`/api/sandbox/contacts/${to}/presences`))).body as Array<{ from: string; state: string; at: string }>;
    expect(presences.map((p) => `${p.from}:${p.state}`)).toEqual(['5511970000011:composing', '5511970000011:paused', '5511970000011:composing', '5511970000011:paused']);
    const at = presences.map((p) => Date.parse(p.at));
    const arrived = received.map((m) => Date.parse((m as unknown as { receivedAt: string }).receivedAt));
    // "hi" types for the minimum (300 ms, jitter never below it); 100 characters for the maximum (1000 ms, jitter 85 %..100 %).
    expect(at[1]! - at[0]!).toBeGreaterThanOrEqual(300 - 20);
    expect(at[1]! - at[0]!).toBeLessThan(1000);
    expect(at[3]! - at[2]!).toBeGreaterThanOrEqual(850 - 20);
    expect(at[3]! - at[2]!).toBeLessThanOrEqual(1000 + 100);
    // Typing ends before its message arrives; the next message starts typing a chat gap after the first was sent.
    expect(arrived[0]!).toBeGreaterThanOrEqual(at[1]!);
    expect(arrived[1]!).toBeGreaterThanOrEqual(at[3]!);
    expect(at[2]! - arrived[0]!).toBeGreaterThanOrEqual(500 - 50);
    // Read before the first "typing...", once (the second message finds nothing unread).
    const reads = t.app.get(SandboxNetwork).contactReads(to);
    expect(reads.map((r) => [r.from, r.waMessageId])).toEqual([['5511970000011', question]]);
    expect(Date.parse(reads[0]!.at)).toBeLessThanOrEqual(at[0]!);
  });

  it('shows a drain as a flow of its session while it types, and none once it is done (GET /api/flows, readiness)', async () => {
    const api = sessionsApi(t);
    await api.create('flowing', { config: { humanize: { enabled: true, typingMsPerChar: 0, minTypingMs: 1500, maxTypingMs: 1500, chatGapMs: 0 } } });
    await api.pair('flowing', '5511970000012');
    const res = await send('flowing', { to: '5511970001201', type: 'text', text: 'slowly' });
    const during = await waitFor(async () => {
      const flows = (await key(t.http.get('/api/flows'))).body as { active: number; bySession: Record<string, number> };
      return flows.bySession.flowing === 1 ? flows : null;
    }, 'the drain as a flow');
    expect(during.active).toBeGreaterThanOrEqual(1);
    await waitForStatus(res.body.id, 'SENT');
    const after = await waitFor(async () => {
      const flows = (await key(t.http.get('/api/flows'))).body as { active: number; bySession: Record<string, number> };
      return flows.bySession.flowing === undefined ? flows : null;
    }, 'the flow gone');
    expect(after).toMatchObject({ expiredTotal: 0 });
    const ready = await t.http.get('/health/ready');
    expect(ready.body.info.flows).toEqual({ status: 'up', active: expect.any(Number), oldestAgeSeconds: expect.any(Number), pendingPromises: expect.any(Number) });
  });

  it('reports what it did in /metrics: messages by status, the outbox rows and the send duration', async () => {
    // A message of a session that does not run waits PENDING: the oldest-pending gauge has one to age
    // (the gauges read PostgreSQL through a 5 s cache: wait for a scrape that shows it).
    await sessionsApi(t).create('metrics-idle', { start: false });
    expect((await send('metrics-idle', { to: '5511970000399', type: 'text', text: 'waits' })).status).toBe(202);
    const valueIn = (text: string, name: string, labels = '') => Number(new RegExp(`^${name}${labels.replace(/[{}]/g, (c) => `\\${c}`)} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
    const rows = async () => ({
      statuses: await query<{ status: string; n: string }>(t.env.databaseUrl, `SELECT status::text AS status, count(*) AS n FROM "Message" WHERE direction = 'OUTBOUND' GROUP BY 1 ORDER BY 1`),
      inbound: await query<{ n: string }>(t.env.databaseUrl, `SELECT count(*) AS n FROM "Message" WHERE direction = 'INBOUND'`),
      pending: await query<{ n: string }>(t.env.databaseUrl, `SELECT count(*) AS n FROM "MessageQueueItem" WHERE status = 'PENDING'`),
    });
    // Receipts of earlier tests' messages still arrive: compare a scrape with the rows as they were
    // both before and after it.
    const { scrape, statuses, inbound, pending } = await waitFor(async () => {
      const before = await rows();
      const text = (await t.http.get('/metrics')).text;
      const after = await rows();
      const steady = JSON.stringify(before) === JSON.stringify(after);
      const fresh = valueIn(text, 'zaphub_message_queue_items', '{status="PENDING"}') === Number(after.pending[0]!.n);
      return steady && fresh && valueIn(text, 'zaphub_message_queue_oldest_pending_age_seconds') > 0 ? { scrape: text, ...after } : null;
    }, 'a scrape with a pending message, rows unchanged around it');
    const metric = (name: string, labels = '') => valueIn(scrape, name, labels);
    const count = (status: string) => Number(statuses.find((r) => r.status === status)?.n ?? 0);
    // Every message of this process so far was accepted here, and each SENT one was sent here.
    const sentAtLeast = count('SENT') + count('DELIVERED') + count('READ');
    expect(metric('zaphub_messages_total', '{direction="outbound",status="SENT"}')).toBe(sentAtLeast);
    expect(metric('zaphub_messages_total', '{direction="outbound",status="READ"}')).toBe(count('READ'));
    expect(metric('zaphub_messages_total', '{direction="inbound",status="RECEIVED"}')).toBe(Number(inbound[0]!.n));
    expect(metric('zaphub_messages_total', '{direction="outbound",status="QUEUED"}')).toBe(statuses.reduce((sum, r) => sum + Number(r.n), 0));
    expect(metric('zaphub_messages_total', '{direction="outbound",status="CANCELED"}')).toBe(count('CANCELED'));
    expect(metric('zaphub_message_queue_items', '{status="PENDING"}')).toBe(Number(pending[0]!.n));
    expect(metric('zaphub_message_queue_oldest_pending_age_seconds')).toBeGreaterThan(0);
    expect(metric('zaphub_message_send_duration_seconds_count')).toBe(sentAtLeast);
  });

  it('retries a FAILED message at the back of its chat, and sends it', async () => {
    const api = sessionsApi(t);
    await api.create('again');
    await api.pair('again', '5511970000008');
    const first = await send('again', { to: '5511970000801', type: 'text', text: 'failed once' });
    await waitForStatus(first.body.id, 'SENT');
    // As a drain leaves a message out of attempts (the send path is the drain's own tests').
    await query(t.env.databaseUrl, `UPDATE "Message" SET status = 'FAILED', error = 'boom', "waMessageId" = NULL, "sentAt" = NULL WHERE id = $1`, [first.body.id]);
    const retried = await key(t.http.post(`/api/messages/${first.body.id}/retry`));
    expect(retried.status).toBe(202);
    expect(retried.body).toMatchObject({ id: first.body.id, status: 'QUEUED', attempts: 0, error: null });
    const sent = await waitForStatus(first.body.id, 'SENT');
    // The same WhatsApp id: the contact's phone keeps one message and counts a copy.
    expect(sent.waMessageId).toBe(waMessageIdFor(first.body.id));
    const entry = await waitFor(async () => (await inbox('5511970000801')).find((m) => m.waMessageId === sent.waMessageId && m.copies === 2), 'the second copy');
    expect(entry.text).toBe('failed once');
  });
});

/**
 * DELETE of a session cancels its queued messages in the same transaction.
 * An api-only process, with no worker: nothing removes the deleted session's
 * row afterwards (a worker would, and its messages with it), so what the
 * deletion did stays to be read.
 */
describe('a deleted session\'s queued messages (api role, no worker)', () => {
  let t: TestApp;
  const key = <R extends { set(name: string, value: string): R }>(r: R) => r.set('X-Api-Key', t.apiKey);

  beforeAll(async () => {
    t = await startTestApp({ APP_ROLE: 'api' });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('are CANCELED with the deletion, their outbox rows deleted, and the session takes no more', async () => {
    const api = sessionsApi(t);
    expect((await api.create('gone', { start: false })).status).toBe(201);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await key(t.http.post('/api/sessions/gone/messages')).send({ to: '5511970000901', type: 'text', text: `m${i}` });
      expect(res.status).toBe(202);
      ids.push(res.body.id);
    }
    expect((await api.remove('gone')).status).toBe(204);
    const rows = await query<{ id: string; status: string }>(t.env.databaseUrl, `SELECT id::text AS id, status::text AS status FROM "Message" WHERE id = ANY($1::uuid[]) ORDER BY seq`, [ids]);
    expect(rows).toEqual(ids.map((id) => ({ id, status: 'CANCELED' })));
    const left = await query<{ n: string }>(t.env.databaseUrl, `SELECT count(*) AS n FROM "MessageQueueItem" WHERE "messageId" = ANY($1::uuid[])`, [ids]);
    expect(Number(left[0]!.n)).toBe(0);
    expect((await key(t.http.post('/api/sessions/gone/messages')).send({ to: '5511970000901', type: 'text', text: 'late' })).status).toBe(404);
  });
});

/**
 * Redis unreachable while messages are accepted: the row is the truth, so the
 * answer is still 202 (the hint to the owner is lost, and counted; the
 * owner's timer finds the row). An api-only process reaching Redis through a
 * proxy the test cuts.
 */
describe('accepting messages with Redis down (api role)', () => {
  let env: TestEnv;
  let redis: TcpProxy;
  let t: TestApp;

  beforeAll(async () => {
    env = await createTestEnv();
    const url = new URL(env.env.REDIS_URL!);
    redis = await TcpProxy.start(url.hostname, Number(url.port || 6379));
    url.hostname = '127.0.0.1';
    url.port = String(redis.port);
    t = await startTestApp({ APP_ROLE: 'api', REDIS_URL: url.toString() }, env);
  });
  afterAll(async () => {
    // Redis back first: a shutdown waits for its connections to close cleanly.
    await redis?.restore();
    await t?.close();
    await redis?.close();
    await env?.cleanup();
  });

  it('answers 202 and stores the message QUEUED while Redis is cut, and counts the lost hint', async () => {
    const key = <R extends { set(name: string, value: string): R }>(r: R) => r.set('X-Api-Key', t.apiKey);
    expect((await key(t.http.post('/api/sessions')).send({ name: 'no-redis', start: false })).status).toBe(201);
    await redis.cut();
    const res = await key(t.http.post('/api/sessions/no-redis/messages')).send({ to: '5511970002001', type: 'text', text: 'Redis is down' });
    expect(res.status).toBe(202);
    expect((await key(t.http.get(`/api/messages/${res.body.id}`))).body).toMatchObject({ id: res.body.id, status: 'QUEUED' });
    const rows = await query<{ status: string }>(env.databaseUrl, `SELECT status::text AS status FROM "MessageQueueItem" WHERE "messageId" = $1`, [res.body.id]);
    expect(rows).toEqual([{ status: 'PENDING' }]);
    const metrics = (await t.http.get('/metrics')).text;
    expect(Number(/^zaphub_background_failures_total\{task="outbox hint"\} (\d+)$/m.exec(metrics)?.[1] ?? 0)).toBeGreaterThanOrEqual(1);
  });
});
