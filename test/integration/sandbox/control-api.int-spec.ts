import { DisconnectReason } from '@whiskeysockets/baileys';
import { SandboxNetwork } from '../../../src/modules/sandbox/network/sandbox-network';
import { TestClient } from '../../helpers/baileys-client';
import { waitFor } from '../../helpers/test-env';

/** The HTTP control API of a standalone sandbox, driven the way another process would. */
describe('sandbox control API', () => {
  let network: SandboxNetwork;
  const clients: TestClient[] = [];
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${network.httpUrl}/control${path}`, { method, body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> & unknown[] };
  };

  beforeAll(async () => {
    network = new SandboxNetwork({ controlApi: true, fastPreKeys: true, deliveryReceiptMs: 10, readReceiptMs: 10 });
    await network.start();
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.end()));
    await network?.close();
  });

  it('reports where to connect and which root to trust', async () => {
    const info = await call('GET', '/info');
    expect(info.status).toBe(200);
    expect(info.body).toMatchObject({ wsUrl: network.wsUrl, rootPublicKey: network.rootPublicKey.toString('base64') });
  });

  it('pairs, relays and disconnects a session over HTTP', async () => {
    // A client that only knows the two printed values, like a ZapHub process with SANDBOX_URL / SANDBOX_ROOT_KEY.
    const info = await call('GET', '/info');
    const endpoint = {
      urlForSession: (name: string) => `${info.body.wsUrl as string}?session=${encodeURIComponent(name)}`,
      rootPublicKey: Buffer.from(info.body.rootPublicKey as string, 'base64'),
    };
    const first = new TestClient(endpoint, { session: 'remote' });
    clients.push(first);
    const scanned = await call('POST', '/scan', { session: 'remote', qr: await first.waitForQr(), phone: '5511944440000' });
    expect(scanned).toMatchObject({ status: 200, body: { session: 'remote', phone: '5511944440000' } });
    await first.waitForClose();
    const client = new TestClient(endpoint, { session: 'remote', auth: first.auth });
    clients.push(client);
    await client.waitForOpen();
    expect((await call('GET', '/sessions/remote')).body).toEqual({ session: 'remote', state: 'online', phone: '5511944440000' });

    const inbound = await call('POST', '/inbound', { session: 'remote', from: '5511944440001', text: 'hi remote' });
    expect(inbound.status).toBe(202);
    await waitFor(() => client.inbox.some((m) => m.key.id === inbound.body.waMessageId), 'inbound');
    await client.sendText('5511944440001', 'back');
    await waitFor(async () => (await call('GET', '/contacts/5511944440001/messages')).body.length === 1, 'contact inbox');

    expect((await call('PUT', '/faults', { latencyMs: 5 })).body).toEqual({ latencyMs: 5 });
    expect((await call('PUT', '/faults', {})).body).toEqual({});
    expect(await call('POST', '/disconnect', { session: 'remote', code: 440 })).toMatchObject({ status: 200 });
    expect((await client.waitForClose()).statusCode).toBe(DisconnectReason.connectionReplaced);
  });

  it('answers mistakes with 4xx JSON', async () => {
    expect(await call('PUT', '/faults', { dropRate: 3 })).toMatchObject({ status: 400, body: { statusCode: 400, error: 'Bad Request' } });
    expect(await call('POST', '/scan', { session: 'ghost', qr: 'nope' })).toMatchObject({ status: 400 });
    expect(await call('POST', '/inbound', { session: 'ghost', from: '5511944440002', text: 'x' })).toMatchObject({ status: 404 });
    expect(await call('POST', '/disconnect', { session: 'ghost', code: 999 })).toMatchObject({ status: 400 });
    expect(await call('GET', '/contacts/1/messages')).toMatchObject({ status: 400 });
    expect(await call('GET', '/nothing-here')).toMatchObject({ status: 404 });
    const res = await fetch(`${network.httpUrl}/control/scan`, { method: 'POST', body: '{not json' });
    expect(res.status).toBe(400);
  });
});
