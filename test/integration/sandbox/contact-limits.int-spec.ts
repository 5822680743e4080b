import { proto } from '@whiskeysockets/baileys';
import { SandboxNetwork } from '../../../src/modules/sandbox/network/sandbox-network';
import { pairClient, type TestClient } from '../../helpers/baileys-client';
import { waitFor } from '../../helpers/test-env';

const { READ } = proto.WebMessageInfo.Status;

/**
 * The bounds of the fake contacts with real Baileys sockets: at most
 * `maxLiveContacts` connected (the least recently used one is closed), an
 * evicted contact reconnects as the same device when it is messaged again
 * (its peers' Signal sessions stay valid, the queued message arrives), and
 * each inbox keeps its last `maxMessagesPerContact` messages.
 */
describe('sandbox network: bounded fake contacts', () => {
  let network: SandboxNetwork;
  let client: TestClient;
  let sessionPhone: string;

  beforeAll(async () => {
    network = new SandboxNetwork({ fastPreKeys: true, deliveryReceiptMs: 20, readReceiptMs: 200, maxLiveContacts: 2, maxMessagesPerContact: 3 });
    await network.start();
    ({ client, phone: sessionPhone } = await pairClient(network, 'limits'));
  });
  afterAll(async () => {
    await client?.end();
    await network?.close();
  });

  const sendAndRead = async (phone: string, text: string) => {
    const id = await client.sendText(phone, text);
    await waitFor(() => client.statusOf(id) === READ, `read receipt of "${text}" from ${phone}`);
    return id;
  };

  it('closes the least recently used contact beyond the limit; it comes back with its keys and inbox when messaged', async () => {
    const [a, b, c] = ['5511966660001', '5511966660002', '5511966660003'];
    await sendAndRead(a, 'first for a');
    await sendAndRead(b, 'first for b');
    expect(network.stats()).toMatchObject({ contacts: 2, evictedContacts: 0 });

    await sendAndRead(c, 'first for c'); // a is the least recently used: closed
    expect(network.stats()).toMatchObject({ contacts: 2, knownContacts: 3, evictedContacts: 1 });
    expect(network.contactMessages(a).map((m) => m.text)).toEqual(['first for a']);

    // The session still has a Signal session with a's device: the message is queued, a reconnects and decrypts it.
    const again = await sendAndRead(a, 'second for a');
    expect(network.contactMessages(a)).toEqual([
      expect.objectContaining({ text: 'first for a', from: sessionPhone }),
      expect.objectContaining({ text: 'second for a', from: sessionPhone, waMessageId: again }),
    ]);
    expect(network.stats()).toMatchObject({ contacts: 2, evictedContacts: 2, backgroundFailures: 0 });

    // An evicted contact can also write first (b was evicted by a's return).
    const inbound = await network.inbound('limits', b, 'b writes after its eviction');
    await waitFor(() => client.inbox.some((m) => m.key.id === inbound), 'the message from b');
    expect(network.stats().backgroundFailures).toBe(0);
  });

  it('keeps the last maxMessagesPerContact messages of an inbox', async () => {
    const phone = '5511966660009';
    for (const n of [1, 2, 3, 4, 5]) await sendAndRead(phone, `message ${n}`);
    expect(network.contactMessages(phone).map((m) => m.text)).toEqual(['message 3', 'message 4', 'message 5']);
  });
});
