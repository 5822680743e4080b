import { SandboxNetwork } from '../../src/modules/sandbox/network/sandbox-network';
import type { InboundMessage } from '../../src/modules/sessions/engine/whatsapp-engine.port';
import type { InboundReceipt, InboundSink, SessionRef } from '../../src/modules/sessions/ports/inbound-sink.port';
import { SessionChannels, SessionNotReadyError, SessionOwnership } from '../../src/modules/sessions/session-channels';
import { SessionHooks } from '../../src/modules/sessions/session-hooks';
import { query } from '../helpers/db-query';
import { sessionsApi } from '../helpers/sessions-api';
import { startTestApp, type TestApp } from '../helpers/test-app';
import { waitFor } from '../helpers/test-env';

/**
 * The seams messaging builds on, through the real Baileys socket and the
 * sandbox: the owner-only channel sends for real and stops working with the
 * session; ownership is visible; inbound messages and receipts reach the
 * registered InboundSink, awaited, with receipt chat ids normalized like the
 * chat ids messaging sends to; "became WORKING" is announced.
 */
describe('sessions seams (channel, ownership, inbound sink)', () => {
  let t: TestApp;
  let api: ReturnType<typeof sessionsApi>;
  const received: Array<{ session: SessionRef; message: InboundMessage }> = [];
  const receipts: Array<{ session: SessionRef; receipt: InboundReceipt }> = [];
  const working: string[] = [];
  let failNext = 0;

  beforeAll(async () => {
    t = await startTestApp({ SANDBOX: 'true', STATUS_DEBOUNCE_MS: '0', INSTANCE_ID: 'seams-worker' });
    api = sessionsApi(t);
    const hooks = t.app.get(SessionHooks);
    const sink: InboundSink = {
      received: async (session, message) => {
        if (failNext > 0) {
          failNext -= 1;
          throw new Error('database hiccup');
        }
        received.push({ session, message });
      },
      ownMessage: async () => undefined,
      receipt: async (session, receipt) => void receipts.push({ session, receipt }),
    };
    hooks.setInboundSink(sink);
    hooks.onSessionWorking(async (session) => void working.push(session.name));
  });
  afterAll(async () => {
    await t?.close();
  });

  it('sends through the owner channel, hands inbound and receipts to the sink, and closes the channel with the session', async () => {
    await api.create('seams');
    await api.pair('seams', '5511995000001');
    expect(working).toEqual(['seams']);
    const [{ id }] = await query<{ id: string }>(t.env.databaseUrl, `SELECT id FROM "Session" WHERE name = 'seams'`);
    expect(await t.app.get(SessionOwnership).ownerOf(id!)).toBe('seams-worker');

    const channel = t.app.get(SessionChannels).get(id!);
    expect(channel).not.toBeNull();
    const to = '5511995000002@s.whatsapp.net';
    const { waMessageId } = await channel!.send(to, { type: 'text', text: 'hello from the seam' });
    const network = t.app.get(SandboxNetwork);
    await waitFor(() => network.contactMessages('5511995000002').some((m) => m.waMessageId === waMessageId), 'the contact to receive it');
    // Receipts come back normalized to the chat id that was sent to.
    await waitFor(() => receipts.some((r) => r.receipt.waMessageId === waMessageId && r.receipt.status === 'READ'), 'the read receipt');
    expect(receipts.filter((r) => r.receipt.waMessageId === waMessageId).map((r) => [r.session.name, r.receipt.chatId])).toEqual(
      receipts.filter((r) => r.receipt.waMessageId === waMessageId).map(() => ['seams', to]),
    );

    // Inbound: the first hand-over fails, the relay retries, the sink gets it once.
    failNext = 1;
    const inboundId = await network.inbound('seams', '5511995000003', 'hi ZapHub');
    await waitFor(() => received.some((r) => r.message.waMessageId === inboundId), 'the sink to record the inbound message');
    expect(received.filter((r) => r.message.waMessageId === inboundId)).toHaveLength(1);
    expect(received.find((r) => r.message.waMessageId === inboundId)!.message).toMatchObject({ text: 'hi ZapHub', fromMe: false, senderPhone: '5511995000003' });

    await api.action('seams', 'stop');
    await api.waitForStatus('seams', 'STOPPED');
    expect(t.app.get(SessionChannels).get(id!)).toBeNull();
    await expect(channel!.send(to, { type: 'text', text: 'too late' })).rejects.toBeInstanceOf(SessionNotReadyError);
  });
});
