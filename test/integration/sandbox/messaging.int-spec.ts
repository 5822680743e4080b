import { proto } from '@whiskeysockets/baileys';
import { SandboxNetwork } from '../../../src/modules/sandbox/network/sandbox-network';
import { pairClient, TestClient } from '../../helpers/baileys-client';
import { waitFor } from '../../helpers/test-env';

const { DELIVERY_ACK, READ } = proto.WebMessageInfo.Status;

describe('sandbox network: messages between a session and fake contacts', () => {
  let network: SandboxNetwork;
  let client: TestClient;
  let sessionPhone: string;

  beforeAll(async () => {
    network = new SandboxNetwork({ deliveryReceiptMs: 50, readReceiptMs: 1000 }); // read well after delivery: Baileys' event buffer merges two updates of one message that land together
    await network.start();
    ({ client, phone: sessionPhone } = await pairClient(network, 'messaging'));
  });
  afterAll(async () => {
    await client?.end();
    await network?.close();
  });

  it('delivers texts to a new contact in order, with delivery then read receipts as messages.update', async () => {
    const contact = '5511988880001';
    expect(network.contactMessages(contact)).toEqual([]);
    const ids: string[] = [];
    for (let i = 1; i <= 5; i++) {
      ids.push(await client.sendText(contact, `hello ${i}`));
      await new Promise((r) => setImmediate(r)); // yield between sends, as a gateway would
    }
    const inbox = await waitFor(() => {
      const messages = network.contactMessages(contact);
      return messages.length >= 5 ? messages : null;
    }, 'contact inbox');
    expect(inbox.map((m) => m.text)).toEqual(['hello 1', 'hello 2', 'hello 3', 'hello 4', 'hello 5']);
    expect(inbox.map((m) => m.waMessageId)).toEqual(ids);
    expect(inbox.every((m) => m.from === sessionPhone && m.type === 'text' && !Number.isNaN(Date.parse(m.receivedAt)))).toBe(true);

    await waitFor(() => ids.every((id) => client.statusOf(id) === READ), 'read receipts');
    for (const id of ids) {
      const statuses = client.statusesOf(id);
      expect(statuses.indexOf(DELIVERY_ACK)).toBeGreaterThanOrEqual(0);
      expect(statuses.indexOf(DELIVERY_ACK)).toBeLessThan(statuses.indexOf(READ));
    }
  });

  it('addresses receipts back the way the sender addressed the chat (phone number JID)', async () => {
    const id = await client.sendText('5511988880002', 'which jid?');
    await waitFor(() => client.statusOf(id) === READ, 'read receipt');
    const update = client.updates.find((u) => u.key.id === id && u.update.status === READ);
    expect(update?.key.remoteJid).toBe('5511988880002@s.whatsapp.net');
  });

  it('delivers texts from a contact to the session in order (real Signal encryption)', async () => {
    const from = '5511988880003';
    const ids: string[] = [];
    for (let i = 1; i <= 5; i++) ids.push(await network.inbound('messaging', from, `inbound ${i}`));
    await waitFor(() => client.inbox.length >= 5, 'session inbox');
    expect(client.textsReceived()).toEqual(['inbound 1', 'inbound 2', 'inbound 3', 'inbound 4', 'inbound 5']);
    expect(client.inbox.map((m) => m.key.id)).toEqual(ids);
    // v7 addressing: the chat is the contact's LID, the phone number comes as remoteJidAlt.
    expect(client.inbox[0]!.key.remoteJidAlt).toBe(`${from}@s.whatsapp.net`);
    expect(client.inbox[0]!.key.remoteJid).toMatch(/@lid$/);
  });

  it('replies reach the contact that wrote first (both directions over one pair of Signal sessions)', async () => {
    const from = '5511988880004';
    await network.inbound('messaging', from, 'ping');
    await waitFor(() => client.textsReceived().includes('ping'), 'ping');
    await client.sendText(from, 'pong');
    await waitFor(() => network.contactMessages(from).length === 1, 'pong');
    expect(network.contactMessages(from)[0]).toMatchObject({ from: sessionPhone, text: 'pong', type: 'text' });
  });

  it('keeps messages for an offline session and delivers them when it logs in again', async () => {
    const auth = client.auth;
    await client.end();
    await waitFor(() => network.sessionState('messaging') === 'offline', 'offline');
    const id = await network.inbound('messaging', '5511988880005', 'while you were away');
    client = new TestClient(network, { session: 'messaging', auth });
    await client.waitForOpen();
    await waitFor(() => client.inbox.some((m) => m.key.id === id), 'offline message');
    expect(network.stats().queuedOffline).toBeGreaterThan(0);
  });

  it('rejects inbound for unknown sessions (404) and invalid numbers (400)', async () => {
    await expect(network.inbound('nope', '5511988880006', 'x')).rejects.toMatchObject({ statusCode: 404 });
    await expect(network.inbound('messaging', 'abc', 'x')).rejects.toMatchObject({ statusCode: 400 });
    expect(() => network.contactMessages('12')).toThrow(expect.objectContaining({ statusCode: 400 }));
  });
});
