import { DisconnectReason } from '@whiskeysockets/baileys';
import { SandboxNetwork } from '../../../src/modules/sandbox/network/sandbox-network';
import type { DisconnectCode } from '../../../src/modules/sandbox/network/sandbox-network.types';
import { MemoryAuth, pairClient, TestClient } from '../../helpers/baileys-client';

describe('sandbox network: server-driven disconnects', () => {
  let network: SandboxNetwork;
  const stored = new Map<string, MemoryAuth>();
  const clients: TestClient[] = [];

  beforeAll(async () => {
    network = new SandboxNetwork({ fastPreKeys: true });
    await network.start();
    // One linked session per code, paired concurrently.
    await Promise.all(
      ['d401', 'd428', 'd440', 'd515'].map(async (session) => {
        const { client, auth } = await pairClient(network, session);
        stored.set(session, auth);
        clients.push(client);
      }),
    );
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.end()));
    await network?.close();
  });

  const cases: Array<[DisconnectCode, number, string]> = [
    [401, DisconnectReason.loggedOut, 'loggedOut'],
    [428, DisconnectReason.connectionClosed, 'connectionClosed'],
    [440, DisconnectReason.connectionReplaced, 'connectionReplaced'],
    [515, DisconnectReason.restartRequired, 'restartRequired'],
  ];

  it.each(cases)('code %i reaches the client as DisconnectReason %i (%s)', async (code, reason) => {
    const client = clients.find((c) => c.auth === stored.get(`d${code}`))!;
    await client.waitForOpen();
    await network.disconnect(`d${code}`, code);
    const closed = await client.waitForClose();
    expect(closed.statusCode).toBe(reason);
    expect(network.sessionState(`d${code}`)).toBe('offline');
  });

  it('after 401 the device is unlinked: logging in again with the same creds is refused with 401', async () => {
    const again = new TestClient(network, { session: 'd401', auth: stored.get('d401') });
    clients.push(again);
    const closed = await again.waitForClose();
    expect(closed.statusCode).toBe(DisconnectReason.loggedOut);
  });

  it('after 515 and 428 the same creds log straight back in', async () => {
    for (const session of ['d515', 'd428']) {
      const again = new TestClient(network, { session, auth: stored.get(session) });
      clients.push(again);
      await again.waitForOpen();
    }
  });

  it('a second socket for the same device replaces the first (440 on the old one)', async () => {
    const auth = stored.get('d440')!;
    const first = new TestClient(network, { session: 'd440', auth });
    clients.push(first);
    await first.waitForOpen();
    const second = new TestClient(network, { session: 'd440', auth });
    clients.push(second);
    await second.waitForOpen();
    const closed = await first.waitForClose();
    expect(closed.statusCode).toBe(DisconnectReason.connectionReplaced);
    expect(network.sessionState('d440')).toBe('online');
  });

  it('rejects unsupported codes (400), unknown sessions (404) and offline sessions (409)', async () => {
    await expect(network.disconnect('d515', 500 as DisconnectCode)).rejects.toMatchObject({ statusCode: 400 });
    await expect(network.disconnect('nobody', 428)).rejects.toMatchObject({ statusCode: 404 });
    await expect(network.disconnect('d401', 428)).rejects.toMatchObject({ statusCode: 409 });
  });
});
