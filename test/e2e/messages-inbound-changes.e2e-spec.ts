import { InboundRecorder } from '../../src/modules/messaging/inbound/inbound-recorder';
import { InboundRepository } from '../../src/modules/messaging/inbound/inbound.repository';
import { SandboxService } from '../../src/modules/sandbox/sandbox.service';
import type { InboundMessage } from '../../src/modules/sessions/engine/whatsapp-engine.port';
import { query } from '../helpers/db-query';
import { sessionsApi } from '../helpers/sessions-api';
import { startTestApp, type TestApp } from '../helpers/test-app';
import { waitFor } from '../helpers/test-env';

interface Reaction {
  from: string | null;
  emoji: string;
  at: string;
}
interface MessageBody {
  id: string;
  chatId: string;
  direction: string;
  type: string;
  status: string;
  text: string | null;
  waMessageId: string | null;
  editedAt?: string;
  revoked?: boolean;
  revokedAt?: string;
  reactions?: Reaction[];
  receipts?: Array<{ participant: string; status: string; at: string }>;
  deliveredAt?: string | null;
}
interface EventBody {
  event: string;
  data: MessageBody & { from?: string | null; reaction?: Reaction };
}

/**
 * Reactions, edits and deletes for everyone that contacts send (through the
 * sandbox, real Baileys on both sides) change the message they name, with
 * message.reaction, message.edited and message.revoked; they are not recorded
 * as messages of their own, and a re-delivery changes nothing twice.
 */
describe('reactions, edits and revokes of received and sent messages (sandbox, real Baileys)', () => {
  let t: TestApp;
  const key = <R extends { set(name: string, value: string): R }>(r: R) => r.set('X-Api-Key', t.apiKey);
  const events = async (session: string) => (await key(t.http.get(`/api/sessions/${session}/events?limit=1000`))).body.items as EventBody[];
  const messagesOf = async (session: string) => (await key(t.http.get(`/api/sessions/${session}/messages?limit=1000`))).body.items as MessageBody[];
  const getMessage = async (id: string) => (await key(t.http.get(`/api/messages/${id}`))).body as MessageBody;
  const inbound = async (body: Record<string, unknown>) => {
    const res = await key(t.http.post('/api/sandbox/inbound')).send({ session: 'changes', from: CONTACT, ...body });
    if (res.status !== 202) throw new Error(`sandbox inbound: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body.waMessageId as string;
  };
  const until = (id: string, check: (m: MessageBody) => boolean, what: string) =>
    waitFor(async () => {
      const m = await getMessage(id);
      return check(m) ? m : null;
    }, what);
  const CONTACT = '5511973000101';

  beforeAll(async () => {
    t = await startTestApp({ SANDBOX: 'true', STATUS_DEBOUNCE_MS: '0', HUMANIZE_ENABLED: 'false' });
    const api = sessionsApi(t);
    await api.create('changes');
    await api.pair('changes', '5511973000001');
  });
  afterAll(async () => {
    await t?.close();
  });

  it('reflects a contact reacting, editing and deleting its message, and reacting to ours', async () => {
    const waId = await inbound({ text: 'first version' });
    const received = await waitFor(async () => (await messagesOf('changes')).find((m) => m.waMessageId === waId) ?? null, 'the message recorded');

    await inbound({ type: 'reaction', reaction: { waMessageId: waId, emoji: '👍' } });
    await until(received.id, (m) => m.reactions?.[0]?.emoji === '👍', 'the reaction on the message');
    await inbound({ type: 'reaction', reaction: { waMessageId: waId, emoji: '❤️' } });
    const reacted = await until(received.id, (m) => m.reactions?.[0]?.emoji === '❤️', 'the reaction replaced');
    expect(reacted.reactions).toEqual([{ from: CONTACT, emoji: '❤️', at: expect.any(String) }]);

    await inbound({ type: 'edit', edit: { waMessageId: waId, text: 'second version' } });
    const edited = await until(received.id, (m) => m.text === 'second version', 'the edit applied');
    expect(edited.editedAt).toEqual(expect.any(String));

    await inbound({ type: 'revoke', revoke: { waMessageId: waId } });
    const revoked = await until(received.id, (m) => m.revoked === true, 'the revoke applied');
    expect(revoked).toMatchObject({ status: 'RECEIVED', text: 'second version', revokedAt: expect.any(String) });
    // An edit after the delete changes nothing (WhatsApp would not show it either).

    // The contact reacts to what the session sent it.
    const sent = await key(t.http.post('/api/sessions/changes/messages')).send({ to: CONTACT, type: 'text', text: 'your order is ready' });
    expect(sent.status).toBe(202);
    const outbound = await until(sent.body.id as string, (m) => m.waMessageId !== null && m.status !== 'QUEUED' && m.status !== 'SENDING', 'the message sent');
    await inbound({ type: 'reaction', reaction: { waMessageId: outbound.waMessageId, emoji: '🙏' } });
    await until(outbound.id, (m) => m.reactions?.[0]?.emoji === '🙏', 'the reaction on our message');
    // Removing it empties the list.
    await inbound({ type: 'reaction', reaction: { waMessageId: outbound.waMessageId, emoji: '' } });
    await until(outbound.id, (m) => m.reactions === undefined, 'the reaction removed');

    // None of the changes is a message of its own.
    const all = await messagesOf('changes');
    expect(all.map((m) => [m.direction, m.type])).toEqual([
      ['outbound', 'text'],
      ['inbound', 'text'],
    ]);
    const logged = await events('changes');
    const ofType = (type: string) => logged.filter((e) => e.event === type);
    expect(ofType('message.received')).toHaveLength(1);
    expect(ofType('message.reaction').map((e) => [e.data.id, e.data.reaction?.from, e.data.reaction?.emoji])).toEqual([
      [received.id, CONTACT, '👍'],
      [received.id, CONTACT, '❤️'],
      [outbound.id, CONTACT, '🙏'],
      [outbound.id, CONTACT, ''],
    ]);
    expect(ofType('message.edited').map((e) => [e.data.id, e.data.text, e.data.from])).toEqual([[received.id, 'second version', CONTACT]]);
    expect(ofType('message.revoked').map((e) => [e.data.id, e.data.revoked, e.data.from])).toEqual([[received.id, true, CONTACT]]);
  });

  it('applies a re-delivered change once and ignores changes of unknown messages or of another chat', async () => {
    const [{ id }] = await query<{ id: string }>(t.env.databaseUrl, `SELECT id FROM "Session" WHERE name = 'changes'`);
    const session = { id: id!, name: 'changes' };
    const recorder = t.app.get(InboundRecorder);
    const chat = '5511973000202@s.whatsapp.net';
    const base: InboundMessage = {
      waMessageId: '3EB0CCCCCCCCCCCCCCCCC1',
      chatId: chat,
      chatIdAlt: null,
      fromMe: false,
      senderPhone: '5511973000202',
      senderJid: chat,
      pushName: 'Bia',
      type: 'text',
      text: 'original',
      timestamp: new Date('2026-12-06T01:00:00Z'),
      quotedWaMessageId: null,
      reactionTo: null,
      raw: {},
    };
    await recorder.received(session, base);
    const reaction: InboundMessage = { ...base, waMessageId: '3EB0CCCCCCCCCCCCCCCCC2', type: 'reaction', text: '😂', reactionTo: base.waMessageId, timestamp: new Date('2026-12-06T01:01:00Z') };
    const edit: InboundMessage = { ...base, waMessageId: '3EB0CCCCCCCCCCCCCCCCC3', type: 'other', text: 'fixed', change: { kind: 'edit', targetWaMessageId: base.waMessageId, text: 'fixed' }, timestamp: new Date('2026-12-06T01:02:00Z') };
    const olderEdit: InboundMessage = { ...edit, waMessageId: '3EB0CCCCCCCCCCCCCCCCC4', change: { kind: 'edit', targetWaMessageId: base.waMessageId, text: 'stale' }, timestamp: new Date('2026-12-06T01:01:30Z') };
    const revoke: InboundMessage = { ...base, waMessageId: '3EB0CCCCCCCCCCCCCCCCC5', type: 'other', text: null, change: { kind: 'revoke', targetWaMessageId: base.waMessageId }, timestamp: new Date('2026-12-06T01:03:00Z') };
    for (const m of [reaction, reaction, edit, edit, olderEdit, revoke, revoke]) await recorder.received(session, m);
    // Another chat naming the same id, and an unknown id: nothing.
    await recorder.received(session, { ...revoke, waMessageId: '3EB0CCCCCCCCCCCCCCCCC6', chatId: '5511973000303@s.whatsapp.net' });
    await recorder.received(session, { ...reaction, waMessageId: '3EB0CCCCCCCCCCCCCCCCC7', reactionTo: '3EB0UNKNOWN' });
    const [{ id: messageId }] = await query<{ id: string }>(t.env.databaseUrl, `SELECT id FROM "Message" WHERE "waMessageId" = '${base.waMessageId}'`);
    const stored = await getMessage(messageId!);
    expect(stored).toMatchObject({ text: 'fixed', revoked: true, reactions: [{ from: '5511973000202', emoji: '😂', at: '2026-12-06T01:01:00.000Z' }] });
    expect(stored.editedAt).toBe('2026-12-06T01:02:00.000Z');
    const logged = (await events('changes')).filter((e) => e.data.id === messageId);
    expect(logged.map((e) => e.event)).toEqual(['message.received', 'message.reaction', 'message.edited', 'message.revoked']);
  });

  it('keeps a group message\'s receipts per member; the first member to report moves the message', async () => {
    const [{ id: sessionId }] = await query<{ id: string }>(t.env.databaseUrl, `SELECT id FROM "Session" WHERE name = 'changes'`);
    const group = '120363000000000001@g.us';
    // Sending to a group is not in the sandbox yet: the message is stored as sent, the receipts come through Baileys for real.
    const ids = await query<{ id: string; waMessageId: string }>(
      t.env.databaseUrl,
      `INSERT INTO "Message" ("id", "sessionId", "chatId", "direction", "type", "status", "text", "waMessageId", "attempts", "createdAt", "updatedAt", "sentAt")
       SELECT gen_random_uuid(), '${sessionId}', '${group}', 'OUTBOUND', 'text', 'SENT', 'hello group ' || n, '3EB0GROUP00000000000' || n, 0, now(), now(), now()
       FROM generate_series(1, 2) n RETURNING id::text AS id, "waMessageId"`,
    );
    const [first, second] = ids.sort((a, b) => a.waMessageId.localeCompare(b.waMessageId));
    const network = t.app.get(SandboxService).network;
    const ana = '5511973000401';
    const bia = '5511973000402';
    const receipt = (participant: string, type: 'delivery' | 'read', waMessageIds = [first!.waMessageId]) => network.groupReceipt('changes', { group, participant, waMessageIds, type });

    receipt(ana, 'delivery');
    await until(first!.id, (m) => m.status === 'DELIVERED', 'delivered by the first member');
    receipt(bia, 'delivery');
    await until(first!.id, (m) => m.receipts?.length === 2, 'the second member\'s receipt');
    receipt(bia, 'read', [first!.waMessageId, second!.waMessageId]); // one receipt for two messages
    await until(first!.id, (m) => m.status === 'READ', 'read by a member');
    receipt(ana, 'read');
    await until(first!.id, (m) => m.receipts?.every((r) => r.status === 'READ') === true, 'both members read it');
    await until(second!.id, (m) => m.status === 'READ', 'the listed second message read');
    receipt(ana, 'delivery'); // late: never back
    // Receipts are handled in arrival order: once this later one shows, the late delivery was handled too.
    receipt(ana, 'read', [second!.waMessageId]);
    const settled = await until(second!.id, (m) => m.receipts?.length === 2, 'the second member\'s read of the second message');

    const final = await getMessage(first!.id);
    expect(final.deliveredAt).not.toBeNull();
    expect(final.receipts?.map((r) => [r.participant, r.status]).sort()).toEqual([
      [`${ana}@s.whatsapp.net`, 'READ'],
      [`${bia}@s.whatsapp.net`, 'READ'],
    ]);
    expect(settled.receipts?.map((r) => [r.participant, r.status])).toEqual([
      [`${bia}@s.whatsapp.net`, 'READ'],
      [`${ana}@s.whatsapp.net`, 'READ'],
    ]);
    const logged = (await events('changes')).filter((e) => e.data.id === first!.id || e.data.id === second!.id);
    expect(logged.map((e) => [e.data.id === first!.id ? 'first' : 'second', e.event])).toEqual([
      ['first', 'message.delivered'],
      ['first', 'message.read'],
      ['second', 'message.read'],
    ]);
  });

  it('records a burst over many sessions in shared transactions, each message once with its event', async () => {
    const api = sessionsApi(t);
    const names = ['burst-1', 'burst-2', 'burst-3', 'burst-4', 'burst-5'];
    for (const name of names) await api.create(name, { start: false });
    const rows = await query<{ id: string; name: string }>(t.env.databaseUrl, `SELECT id::text AS id, name FROM "Session" WHERE name LIKE 'burst-%'`);
    const recorder = t.app.get(InboundRecorder);
    const insertMany = jest.spyOn(t.app.get(InboundRepository), 'insertMany');
    const message = (n: number, i: number): InboundMessage => ({
      waMessageId: `3EB0BURST${String(n).padStart(2, '0')}${String(i).padStart(4, '0')}`,
      chatId: `55119740${String(i % 7).padStart(5, '0')}@s.whatsapp.net`,
      chatIdAlt: null,
      fromMe: false,
      senderPhone: `55119740${String(i % 7).padStart(5, '0')}`,
      pushName: null,
      type: 'text',
      text: `burst ${n}/${i}`,
      timestamp: new Date(),
      quotedWaMessageId: null,
      reactionTo: null,
      raw: {},
    });
    // Each session hands its messages over one at a time (as its InboundRelay does); the sessions in parallel.
    const PER_SESSION = 40;
    await Promise.all(
      rows.map(async (session, n) => {
        for (let i = 0; i < PER_SESSION; i++) {
          await recorder.received(session, message(n, i));
          if (i % 10 === 0) await recorder.received(session, message(n, i)); // a re-delivery now and then
        }
      }),
    );
    const transactions = insertMany.mock.calls.length;
    insertMany.mockRestore();
    expect(transactions).toBeLessThan(rows.length * PER_SESSION);
    for (const session of rows) {
      const [{ count }] = await query<{ count: string }>(t.env.databaseUrl, `SELECT count(*) FROM "Message" WHERE "sessionId" = '${session.id}'`);
      expect(Number(count)).toBe(PER_SESSION);
      const logged = await events(session.name);
      expect(logged.map((e) => e.event)).toEqual(Array(PER_SESSION).fill('message.received'));
      expect(logged.map((e) => e.data.text)).toEqual(Array.from({ length: PER_SESSION }, (_, i) => `burst ${rows.indexOf(session)}/${i}`));
      expect((await api.session(session.name)).stats).toMatchObject({ received: PER_SESSION });
      // The event carries the Message as the API shows it.
      const stored = await getMessage(logged[0]!.data.id);
      expect(logged[0]!.data).toMatchObject({ ...stored, from: expect.any(String) });
    }
  });
});
