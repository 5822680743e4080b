import { DisconnectReason } from '@whiskeysockets/baileys';
import { SandboxNetwork } from '../../../src/modules/sandbox/network/sandbox-network';
import { pairClient, TestClient } from '../../helpers/baileys-client';
import { waitFor } from '../../helpers/test-env';

describe('sandbox network: linking a companion', () => {
  let network: SandboxNetwork;
  const clients: TestClient[] = [];

  beforeAll(async () => {
    network = new SandboxNetwork();
    await network.start();
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.end()));
  });
  afterAll(async () => {
    await network.close();
  });

  it('pairs by QR, opens, and logs in again with the stored creds without a QR', async () => {
    const { client, auth, phone } = await pairClient(network, 'qr-pair', { phone: '+5511999990001' });
    clients.push(client);
    expect(phone).toBe('5511999990001');
    expect(auth.creds.me?.id).toMatch(/^5511999990001:\d+@s\.whatsapp\.net$/);
    expect(auth.creds.me?.lid).toMatch(/@lid$/);
    expect(network.sessionState('qr-pair')).toBe('online');
    expect(network.sessionPhone('qr-pair')).toBe('5511999990001');

    await client.end();
    const again = new TestClient(network, { session: 'qr-pair', auth });
    clients.push(again);
    await again.waitForOpen();
    expect(again.qrs).toEqual([]);
    expect(network.sessionState('qr-pair')).toBe('online');
  });

  it('gives each session a deterministic phone number when none is chosen', async () => {
    const { client, phone } = await pairClient(network, 'qr-default-phone');
    clients.push(client);
    expect(phone).toMatch(/^1555\d{7}$/);
  });

  it('refuses a QR from an earlier connection (stale ref)', async () => {
    const first = new TestClient(network, { session: 'qr-stale' });
    clients.push(first);
    const oldQr = await first.waitForQr();
    await first.end();
    const second = new TestClient(network, { session: 'qr-stale' });
    clients.push(second);
    await second.waitForQr();
    await expect(network.scan('qr-stale', oldQr)).rejects.toMatchObject({ statusCode: 409 });
  });

  it('rejects scans for unknown sessions (404) and sessions not waiting for a QR (409)', async () => {
    await expect(network.scan('never-connected', 'https://wa.me/settings/linked_devices#a,b,c,d')).rejects.toMatchObject({ statusCode: 400 });
    const { client } = await pairClient(network, 'qr-already');
    clients.push(client);
    const fresh = new TestClient(network, { session: 'qr-probe' });
    clients.push(fresh);
    const qr = await fresh.waitForQr();
    await expect(network.scan('never-connected', qr)).rejects.toMatchObject({ statusCode: 404 });
    await expect(network.scan('qr-already', qr)).rejects.toMatchObject({ statusCode: 409 });
  });

  it('rotates QR codes on the client timer and ends with timedOut when the refs run out', async () => {
    const shortNetwork = new SandboxNetwork({ qrRefCount: 2 });
    await shortNetwork.start();
    try {
      const client = new TestClient(shortNetwork, { session: 'qr-exhaust', socket: { qrTimeout: 300 } });
      const closed = await client.waitForClose();
      expect(client.qrs).toHaveLength(2);
      expect(new Set(client.qrs).size).toBe(2);
      expect(closed.statusCode).toBe(DisconnectReason.timedOut);
    } finally {
      await shortNetwork.close();
    }
  });

  it('links with a pairing code typed on the phone', async () => {
    const client = new TestClient(network, { session: 'code-pair' });
    clients.push(client);
    await client.waitForQr();
    const code = await client.sock.requestPairingCode('5511999990077');
    const result = await network.enterPairingCode('code-pair', code);
    expect(result.phone).toBe('5511999990077');
    const closed = await client.waitForClose();
    expect(closed.statusCode).toBe(DisconnectReason.restartRequired);
    const again = new TestClient(network, { session: 'code-pair', auth: client.auth });
    clients.push(again);
    await again.waitForOpen();
    expect(client.auth.creds.me?.id).toMatch(/^5511999990077:\d+@s\.whatsapp\.net$/);
  });

  it('refuses a wrong pairing code', async () => {
    const client = new TestClient(network, { session: 'code-wrong' });
    clients.push(client);
    await client.waitForQr();
    await client.sock.requestPairingCode('5511999990078');
    await expect(network.enterPairingCode('code-wrong', 'ZZZZ-ZZZZ')).rejects.toMatchObject({ statusCode: 409 });
    await waitFor(() => network.sessionState('code-wrong') === 'awaiting-pairing', 'still awaiting pairing');
  });

  it('close() ends every client connection and contact, and stops listening', async () => {
    const own = new SandboxNetwork({ fastPreKeys: true });
    await own.start();
    const { client } = await pairClient(own, 'closing');
    await client.sendText('5511999990099', 'creates a contact');
    await waitFor(() => own.contactMessages('5511999990099').length === 1, 'contact inbox');
    expect(own.stats()).toMatchObject({ connections: 2, contacts: 1 });
    await own.close();
    expect((await client.waitForClose()).statusCode).toBe(DisconnectReason.connectionClosed);
    expect(own.stats()).toMatchObject({ connections: 0, contacts: 0 });
    await expect(fetch(own.httpUrl)).rejects.toThrow();
    await own.close(); // idempotent
  });
});
