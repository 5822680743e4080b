import { InboundRecorder } from '../../src/modules/messaging/inbound/inbound-recorder';
import { InboundRepository } from '../../src/modules/messaging/inbound/inbound.repository';
import type { InboundReceipt } from '../../src/modules/sessions/ports/inbound-sink.port';
import { query } from '../helpers/db-query';
import { sessionsApi } from '../helpers/sessions-api';
import { startTestApp, type TestApp } from '../helpers/test-app';

interface MessageBody {
  id: string;
  status: string;
  waMessageId: string | null;
  deliveredAt: string | null;
  readAt: string | null;
  receipts?: Array<{ participant: string; status: string }>;
}
interface EventBody {
  event: string;
  sequence: number;
  data: MessageBody;
}

/**
 * Receipts handed over together (a burst of one or several sessions) share
 * one transaction: the members' receipts, the messages' moves and the events
 * are one statement each. What one receipt per transaction gave still holds:
 * never back, unknown ids ignored, a message taken through DELIVERED to READ
 * by one batch gets message.delivered then message.read, a late DELIVERED
 * after READ changes nothing, a group member's receipt that changes nothing
 * moves nothing.
 */
describe('receipts in batches (InboundRecorder)', () => {
  let t: TestApp;
  const key = <R extends { set(name: string, value: string): R }>(r: R) => r.set('X-Api-Key', t.apiKey);
  const events = async (session: string) => (await key(t.http.get(`/api/sessions/${session}/events?limit=1000`))).body.items as EventBody[];
  const getMessage = async (id: string) => (await key(t.http.get(`/api/messages/${id}`))).body as MessageBody;

  beforeAll(async () => {
    t = await startTestApp({ SANDBOX: 'true', STATUS_DEBOUNCE_MS: '0', HUMANIZE_ENABLED: 'false' });
  });
  afterAll(async () => {
    await t?.close();
  });

  /** Outbound messages stored as SENT (as a send would leave them), by WhatsApp id. */
  async function sentMessages(sessionId: string, chatId: string, waIds: string[]): Promise<Map<string, string>> {
    const rows = await query<{ id: string; waMessageId: string }>(
      t.env.databaseUrl,
      `INSERT INTO "Message" ("id", "sessionId", "chatId", "direction", "type", "status", "text", "waMessageId", "attempts", "createdAt", "updatedAt", "sentAt")
       SELECT gen_random_uuid(), $1::uuid, $2, 'OUTBOUND', 'text', 'SENT', 'hello ' || w, w, 0, now(), now(), now() FROM unnest($3::text[]) w
       RETURNING id::text AS id, "waMessageId"`,
      [sessionId, chatId, waIds],
    );
    return new Map(rows.map((r) => [r.waMessageId, r.id]));
  }

  it('applies a burst of receipts of two sessions in one transaction, with the events one receipt at a time would give', async () => {
    const api = sessionsApi(t);
    await api.create('rcpt-1', { start: false });
    await api.create('rcpt-2', { start: false });
    const sessions = await query<{ id: string; name: string }>(t.env.databaseUrl, `SELECT id::text AS id, name FROM "Session" WHERE name LIKE 'rcpt-%' ORDER BY name`);
    const [one, two] = sessions as [{ id: string; name: string }, { id: string; name: string }];
    const chat = '5511975000001@s.whatsapp.net';
    const group = '120363000000000009@g.us';
    const ids1 = await sentMessages(one.id, chat, ['3EB0RB1', '3EB0RB2', '3EB0RB3', '3EB0RB4']);
    const idsG = await sentMessages(one.id, group, ['3EB0RBG']);
    const ids2 = await sentMessages(two.id, chat, ['3EB0RB1']);
    const recorder = t.app.get(InboundRecorder);
    const applyReceipts = jest.spyOn(t.app.get(InboundRepository), 'applyReceipts');
    const r = (waMessageId: string, status: InboundReceipt['status'], participant: string | null = null): InboundReceipt => ({
      waMessageId,
      chatId: participant ? group : chat,
      status,
      participant,
    });
    const ana = '5511975000101@s.whatsapp.net';
    const bia = '5511975000102@s.whatsapp.net';

    // Handed over in one turn (as an InboundRelay hands a session's waiting receipts over): one batch.
    await Promise.all([
      recorder.receipt(one, r('3EB0RB1', 'DELIVERED')),
      recorder.receipt(one, r('3EB0RB2', 'READ')),
      recorder.receipt(two, r('3EB0RB1', 'DELIVERED')),
      recorder.receipt(one, r('3EB0RB1', 'READ')),
      recorder.receipt(one, r('3EB0RB3', 'SENT')), // the server's ack: nothing
      recorder.receipt(one, r('3EB0RB3', 'DELIVERED')),
      recorder.receipt(one, r('3EB0UNKNOWN', 'READ')), // not ours: ignored
      recorder.receipt(one, r('3EB0RB4', 'READ')),
      recorder.receipt(one, r('3EB0RB4', 'DELIVERED')), // late: never back, no event
      recorder.receipt(one, r('3EB0RBG', 'DELIVERED', ana)),
      recorder.receipt(one, r('3EB0RBG', 'DELIVERED', bia)),
      recorder.receipt(one, r('3EB0RBG', 'READ', ana)),
    ]);
    expect(applyReceipts).toHaveBeenCalledTimes(1);
    applyReceipts.mockRestore();

    const logged = (await events('rcpt-1')).map((e) => [e.event, e.data.waMessageId, e.data.status, e.data.readAt === null]);
    expect(logged).toEqual([
      ['message.delivered', '3EB0RB1', 'DELIVERED', true],
      ['message.read', '3EB0RB2', 'READ', false],
      ['message.read', '3EB0RB1', 'READ', false],
      ['message.delivered', '3EB0RB3', 'DELIVERED', true],
      ['message.read', '3EB0RB4', 'READ', false],
      ['message.delivered', '3EB0RBG', 'DELIVERED', true],
      ['message.read', '3EB0RBG', 'READ', false],
    ]);
    expect((await events('rcpt-1')).map((e) => e.sequence)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect((await events('rcpt-2')).map((e) => [e.event, e.data.waMessageId, e.data.status])).toEqual([['message.delivered', '3EB0RB1', 'DELIVERED']]);

    const m1 = await getMessage(ids1.get('3EB0RB1')!);
    expect(m1).toMatchObject({ status: 'READ', deliveredAt: expect.any(String), readAt: expect.any(String) });
    expect(await getMessage(ids1.get('3EB0RB2')!)).toMatchObject({ status: 'READ', deliveredAt: expect.any(String) });
    expect(await getMessage(ids1.get('3EB0RB3')!)).toMatchObject({ status: 'DELIVERED', readAt: null });
    expect(await getMessage(ids1.get('3EB0RB4')!)).toMatchObject({ status: 'READ' });
    expect(await getMessage(ids2.get('3EB0RB1')!)).toMatchObject({ status: 'DELIVERED', readAt: null });
    const g = await getMessage(idsG.get('3EB0RBG')!);
    expect(g.status).toBe('READ');
    expect(g.receipts?.map((x) => [x.participant, x.status]).sort()).toEqual([
      [ana, 'READ'],
      [bia, 'DELIVERED'],
    ]);

    // A later batch: never back, and a member's repeated receipt moves nothing.
    await Promise.all([
      recorder.receipt(one, r('3EB0RB1', 'DELIVERED')),
      recorder.receipt(one, r('3EB0RB3', 'DELIVERED')),
      recorder.receipt(one, r('3EB0RBG', 'READ', ana)),
      recorder.receipt(one, r('3EB0RB3', 'READ')),
    ]);
    const after = (await events('rcpt-1')).slice(7).map((e) => [e.event, e.data.waMessageId]);
    expect(after).toEqual([['message.read', '3EB0RB3']]);
    expect(await getMessage(ids1.get('3EB0RB1')!)).toMatchObject({ status: 'READ', readAt: m1.readAt });
  });
});
