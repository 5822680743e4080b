import { DisconnectReason, proto } from '@whiskeysockets/baileys';
import { SandboxNetwork } from '../../../src/modules/sandbox/network/sandbox-network';
import { MemoryAuth, pairClient, TestClient } from '../../helpers/baileys-client';
import { waitFor } from '../../helpers/test-env';

describe('sandbox network: fault injection and companion_reg_refresh', () => {
  let network: SandboxNetwork;
  let client: TestClient;
  let auth: MemoryAuth;
  const extra: TestClient[] = [];

  beforeAll(async () => {
    network = new SandboxNetwork({ fastPreKeys: true, deliveryReceiptMs: 20, readReceiptMs: 500 }); // read well after delivery: Baileys merges updates of one message that land together
    await network.start();
    ({ client, auth } = await pairClient(network, 'faults'));
  });
  afterEach(() => {
    network.setFaults({});
  });
  afterAll(async () => {
    await Promise.all([client, ...extra].map((c) => c?.end()));
    await network?.close();
  });

  it('with dropRate 1 a message is neither acked to the sender nor delivered, and counted as dropped', async () => {
    const contact = '5511977770001';
    // Warm up: the contact exists and a Signal session is established.
    const warm = await client.sendText(contact, 'before the fault');
    await waitFor(() => network.contactMessages(contact).length === 1, 'warm-up delivery');
    await waitFor(() => client.statusOf(warm) === proto.WebMessageInfo.Status.READ, 'warm-up read');

    expect(network.setFaults({ dropRate: 1 })).toEqual({ dropRate: 1 });
    const before = network.stats().droppedMessages;
    const acceptedBefore = network.stats().acceptedMessages;
    const dropped = await client.sendText(contact, 'into the void');
    await waitFor(() => network.stats().droppedMessageIds.includes(dropped), 'drop recorded');
    expect(network.stats().droppedMessages).toBe(before + 1);
    // Lost before the server took it: not acked (a sender waiting for the ack retries).
    expect(network.stats().acceptedMessages).toBe(acceptedBefore);

    // A message sent after clearing the fault arrives; the dropped one never does.
    network.setFaults({});
    const after = await client.sendText(contact, 'after the fault');
    await waitFor(() => network.contactMessages(contact).some((m) => m.waMessageId === after), 'delivery after clearing');
    expect(network.contactMessages(contact).map((m) => m.text)).toEqual(['before the fault', 'after the fault']);
    expect(client.statusOf(dropped)).toBeUndefined();
  });

  it('refuseConnections makes a new connection fail fast; clearing it lets the session back in', async () => {
    network.setFaults({ refuseConnections: true });
    const started = Date.now();
    const refused = new TestClient(network, { session: 'faults', auth });
    extra.push(refused);
    const closed = await refused.waitForClose(5000);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(closed.statusCode).toBe(DisconnectReason.timedOut); // Baileys' code for a reset connection
    expect(network.stats().refusedConnections).toBeGreaterThan(0);
    expect(client.isOpen).toBe(true); // existing connections are not touched

    network.setFaults({});
    await client.end();
    client = new TestClient(network, { session: 'faults', auth });
    await client.waitForOpen();
  });

  it('latency delays what the server sends but keeps it in order', async () => {
    network.setFaults({ latencyMs: 150 });
    const started = Date.now();
    const id = await client.sendText('5511977770002', 'slow');
    await waitFor(() => network.contactMessages('5511977770002').length === 1, 'slow delivery');
    await waitFor(() => client.statusOf(id) === proto.WebMessageInfo.Status.READ, 'slow read');
    // At least: usync answer, bundle answer, delivery to the contact, two receipts back: each one hop of 150 ms.
    expect(Date.now() - started).toBeGreaterThanOrEqual(750);
    expect(client.statusesOf(id)).toEqual([proto.WebMessageInfo.Status.DELIVERY_ACK, proto.WebMessageInfo.Status.READ]);
  });

  it('validates faults (400) and {} clears them', () => {
    expect(() => network.setFaults({ dropRate: 2 })).toThrow(expect.objectContaining({ statusCode: 400 }));
    expect(() => network.setFaults({ latencyMs: 1.5 })).toThrow(expect.objectContaining({ statusCode: 400 }));
    expect(network.setFaults({ latencyMs: 10, dropRate: 0.5, refuseConnections: true })).toEqual({ latencyMs: 10, dropRate: 0.5, refuseConnections: true });
    expect(network.setFaults({})).toEqual({});
    expect(network.stats().faults).toEqual({});
  });

  it('companion_reg_refresh: after the notification a QR with the old adv secret is refused', async () => {
    const pending = new TestClient(network, { session: 'rotation' });
    extra.push(pending);
    const notified = new Promise<void>((resolve) => pending.sock.ws.on('CB:notification,type:companion_reg_refresh', () => resolve()));
    const oldQr = await pending.waitForQr();
    network.requestAdvRotation('rotation', oldQr);
    await notified;
    await expect(network.scan('rotation', oldQr)).rejects.toMatchObject({ statusCode: 409, message: expect.stringMatching(/retired/) });

    // What the engine must do: a new adv secret, the QR re-rendered with the same ref.
    pending.auth.creds.advSecretKey = Buffer.alloc(32, 7).toString('base64');
    const parts = oldQr.split(',');
    parts[3] = pending.auth.creds.advSecretKey;
    const result = await network.scan('rotation', parts.join(','));
    expect(result.phone).toMatch(/^1555/);
    expect((await pending.waitForClose()).statusCode).toBe(DisconnectReason.restartRequired);
  });

  it('requireAdvRotation refuses the first scan, sends the notification, and accepts the rotated QR', async () => {
    const strict = new SandboxNetwork({ requireAdvRotation: true, fastPreKeys: true });
    await strict.start();
    try {
      const pending = new TestClient(strict, { session: 'strict' });
      const qr = await pending.waitForQr();
      const notified = new Promise<void>((resolve) => pending.sock.ws.on('CB:notification,type:companion_reg_refresh', () => resolve()));
      await expect(strict.scan('strict', qr)).rejects.toMatchObject({ statusCode: 409 });
      await notified;
      await expect(strict.scan('strict', qr)).rejects.toMatchObject({ statusCode: 409 });
      pending.auth.creds.advSecretKey = Buffer.alloc(32, 9).toString('base64');
      const parts = qr.split(',');
      parts[3] = pending.auth.creds.advSecretKey;
      await strict.scan('strict', parts.join(','));
      expect((await pending.waitForClose()).statusCode).toBe(DisconnectReason.restartRequired);
    } finally {
      await strict.close();
    }
  });

  it('a QR whose adv secret is not the companion\'s own makes the companion reject the link (409)', async () => {
    const pending = new TestClient(network, { session: 'wrong-secret' });
    extra.push(pending);
    const qr = await pending.waitForQr();
    const parts = qr.split(',');
    parts[3] = Buffer.alloc(32, 1).toString('base64');
    await expect(network.scan('wrong-secret', parts.join(','))).rejects.toMatchObject({ statusCode: 409 });
  });
});
