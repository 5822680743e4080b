import { SandboxNetwork } from '../../../src/modules/sandbox/network/sandbox-network';
import { pairClient, type TestClient } from '../../helpers/baileys-client';
import { waitFor } from '../../helpers/test-env';

const SESSIONS = 50;

describe('sandbox network: many sessions at once', () => {
  let network: SandboxNetwork;
  const clients: TestClient[] = [];

  beforeAll(async () => {
    network = new SandboxNetwork({ fastPreKeys: true, deliveryReceiptMs: 50, readReceiptMs: 50 });
    await network.start();
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.end()));
    await network?.close();
  });

  it(`pairs ${SESSIONS} sessions concurrently and relays their messages both ways without cross-talk`, async () => {
    const names = Array.from({ length: SESSIONS }, (_, i) => `bulk-${i}`);
    const paired = await Promise.all(names.map((name, i) => pairClient(network, name, { phone: `55119000${String(i).padStart(5, '0')}` })));
    clients.push(...paired.map((p) => p.client));
    expect(network.stats().onlineSessions).toBe(SESSIONS);

    // Each session writes to its own new contact.
    const contactOf = (i: number) => `55118000${String(i).padStart(5, '0')}`;
    const sent = await Promise.all(paired.map(({ client }, i) => client.sendText(contactOf(i), `from ${names[i]}`)));
    await waitFor(() => names.every((_, i) => network.contactMessages(contactOf(i)).length >= 1), 'every contact inbox', 60_000);
    names.forEach((name, i) => {
      expect(network.contactMessages(contactOf(i))).toEqual([
        expect.objectContaining({ from: paired[i]!.phone, text: `from ${name}`, waMessageId: sent[i] }),
      ]);
    });

    // And each contact answers its session.
    await Promise.all(names.map((name, i) => network.inbound(name, contactOf(i), `reply to ${name}`)));
    await waitFor(() => paired.every(({ client }) => client.inbox.length >= 1), 'every session inbox', 60_000);
    paired.forEach(({ client }, i) => {
      expect(client.textsReceived()).toEqual([`reply to ${names[i]}`]);
      expect(client.inbox[0]!.key.remoteJidAlt).toBe(`${contactOf(i)}@s.whatsapp.net`);
    });
    expect(network.stats().droppedMessages).toBe(0);
  }, 120_000);
});
