import { InboundRecorder } from '../../src/modules/messaging/inbound/inbound-recorder';
import type { InboundMessage } from '../../src/modules/sessions/engine/whatsapp-engine.port';
import { query } from '../helpers/db-query';
import { sessionsApi } from '../helpers/sessions-api';
import { startTestApp, type TestApp } from '../helpers/test-app';
import { waitFor } from '../helpers/test-env';

interface MessageBody {
  id: string;
  chatId: string;
  direction: string;
  type: string;
  status: string;
  text: string | null;
  waMessageId: string | null;
  sentAt: string | null;
}
interface EventBody {
  event: string;
  data: MessageBody & { from?: string | null; pushName?: string | null; fromPhone?: boolean };
}

/**
 * What sessions receive, recorded: messages of contacts as inbound RECEIVED
 * with message.received (once per WhatsApp id, in arrival order per chat),
 * messages of the account's own phone as outbound SENT, through the real
 * Baileys socket and the sandbox's fake contacts.
 */
describe('inbound messages (sandbox, real Baileys, PostgreSQL)', () => {
  let t: TestApp;
  const key = <R extends { set(name: string, value: string): R }>(r: R) => r.set('X-Api-Key', t.apiKey);
  const events = async (session: string) => (await key(t.http.get(`/api/sessions/${session}/events?limit=1000`))).body.items as EventBody[];
  const inboundOf = async (session: string, chatId?: string) =>
    (await key(t.http.get(`/api/sessions/${session}/messages?direction=inbound&limit=1000${chatId ? `&chatId=${chatId}` : ''}`))).body.items as MessageBody[];

  beforeAll(async () => {
    t = await startTestApp({ SANDBOX: 'true', STATUS_DEBOUNCE_MS: '0', HUMANIZE_ENABLED: 'false' });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('records what contacts send once each, in arrival order per chat, with message.received', async () => {
    const api = sessionsApi(t);
    await api.create('inbox');
    await api.pair('inbox', '5511972000001');
    const contacts = ['5511972000101', '5511972000102', '5511972000103'];
    const sent: Array<{ from: string; text: string; waMessageId: string }> = [];
    for (let i = 0; i < 5; i++) {
      for (const from of contacts) {
        const text = `from ${from.slice(-3)} #${i}`;
        const res = await key(t.http.post('/api/sandbox/inbound')).send({ session: 'inbox', from, text });
        expect(res.status).toBe(202);
        sent.push({ from, text, waMessageId: res.body.waMessageId });
      }
    }
    const all = await waitFor(async () => {
      const items = await inboundOf('inbox');
      return items.length >= sent.length ? items : null;
    }, `${sent.length} inbound messages recorded`);
    expect(all).toHaveLength(sent.length);
    expect(new Set(all.map((m) => m.waMessageId)).size).toBe(sent.length);
    for (const from of contacts) {
      // Newest first in the listing: reversed, a chat reads in the order its contact sent.
      const chat = (await inboundOf('inbox', from)).reverse();
      expect(chat.map((m) => m.text)).toEqual(sent.filter((s) => s.from === from).map((s) => s.text));
      expect(chat.every((m) => m.chatId === `${from}@s.whatsapp.net` && m.status === 'RECEIVED' && m.direction === 'inbound' && m.type === 'text')).toBe(true);
    }
    const received = (await events('inbox')).filter((e) => e.event === 'message.received');
    expect(received).toHaveLength(sent.length);
    expect(new Set(received.map((e) => e.data.waMessageId))).toEqual(new Set(sent.map((s) => s.waMessageId)));
    for (const e of received) expect(e.data.from).toBe(sent.find((s) => s.waMessageId === e.data.waMessageId)!.from);
    expect((await api.session('inbox')).stats).toMatchObject({ received: sent.length });
  });

  it('records what contacts sent while the session was offline, once it is back (WhatsApp delivers it as offline)', async () => {
    const api = sessionsApi(t);
    await api.create('away');
    await api.pair('away', '5511972000003');
    await api.action('away', 'stop');
    await waitFor(async () => (await api.session('away')).status === 'STOPPED', 'away STOPPED');
    // Queued by the network for the offline device, delivered at its next login with offline="1"
    // (Baileys emits those as messages.upsert of type "append", not "notify").
    const res = await key(t.http.post('/api/sandbox/inbound')).send({ session: 'away', from: '5511972000301', text: 'sent while you were away' });
    expect(res.status).toBe(202);
    await api.action('away', 'start');
    const recorded = await waitFor(async () => {
      const items = await inboundOf('away');
      return items.length ? items : null;
    }, 'the offline message recorded');
    expect(recorded.map((m) => [m.text, m.waMessageId, m.status])).toEqual([['sent while you were away', res.body.waMessageId, 'RECEIVED']]);
    expect((await events('away')).filter((e) => e.event === 'message.received').map((e) => e.data.text)).toEqual(['sent while you were away']);
  });

  it('records a re-delivered message once, and what the phone sent as outbound SENT', async () => {
    const api = sessionsApi(t);
    await api.create('echo', { start: false });
    const [{ id }] = await query<{ id: string }>(t.env.databaseUrl, `SELECT id FROM "Session" WHERE name = 'echo'`);
    const session = { id: id!, name: 'echo' };
    const recorder = t.app.get(InboundRecorder);
    const message: InboundMessage = {
      waMessageId: '3EB0AAAAAAAAAAAAAAAAAA',
      chatId: '248000000000001@lid',
      chatIdAlt: '5511972000201@s.whatsapp.net',
      fromMe: false,
      senderPhone: '5511972000201',
      pushName: 'Ana',
      type: 'text',
      text: 'said twice',
      timestamp: new Date(),
      quotedWaMessageId: null,
      reactionTo: null,
      raw: {},
    };
    // WhatsApp delivers again what was not acknowledged (after a crash of the previous owner).
    await recorder.received(session, message);
    await recorder.received(session, message);
    const fromPhone = { ...message, waMessageId: '3EB0BBBBBBBBBBBBBBBBBB', fromMe: true, senderPhone: null, pushName: null, text: 'typed on the phone' };
    await recorder.ownMessage(session, fromPhone);
    await recorder.ownMessage(session, fromPhone);

    const listed = (await key(t.http.get('/api/sessions/echo/messages?limit=10'))).body.items as MessageBody[];
    expect(listed.map((m) => [m.direction, m.status, m.text, m.chatId])).toEqual([
      ['outbound', 'SENT', 'typed on the phone', '5511972000201@s.whatsapp.net'],
      ['inbound', 'RECEIVED', 'said twice', '5511972000201@s.whatsapp.net'],
    ]);
    expect(listed[0]!.sentAt).not.toBeNull();
    const logged = await events('echo');
    expect(logged.filter((e) => e.event === 'message.received').map((e) => [e.data.text, e.data.from, e.data.pushName])).toEqual([['said twice', '5511972000201', 'Ana']]);
    expect(logged.filter((e) => e.event === 'message.sent').map((e) => [e.data.text, e.data.fromPhone])).toEqual([['typed on the phone', true]]);
  });
});
