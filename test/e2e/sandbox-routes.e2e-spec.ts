import { createHash, randomBytes } from 'node:crypto';
import { DisconnectReason, downloadMediaMessage } from '@whiskeysockets/baileys';
import { agentsTrusting } from '../../src/common/tls/agents-trusting';
import { SandboxNetwork } from '../../src/modules/sandbox/network/sandbox-network';
import { pairClient, type TestClient } from '../helpers/baileys-client';
import { startTestApp, type TestApp } from '../helpers/test-app';
import { waitFor } from '../helpers/test-env';

describe('sandbox REST routes (SANDBOX=true)', () => {
  let t: TestApp;
  let network: SandboxNetwork;
  const clients: TestClient[] = [];
  const api = (req: ReturnType<TestApp['http']['get']>) => req.set('X-Api-Key', t.apiKey);

  beforeAll(async () => {
    t = await startTestApp({ SANDBOX: 'true', SANDBOX_DELIVERY_RECEIPT_MS: '10', SANDBOX_READ_RECEIPT_MS: '10' });
    network = t.app.get(SandboxNetwork);
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.end()));
    await t?.close();
  });

  const expectError = (res: { status: number; body: Record<string, unknown> }, status: number | number[]) => {
    expect(Array.isArray(status) ? status : [status]).toContain(res.status);
    expect(res.body).toMatchObject({ statusCode: res.status, error: expect.any(String), message: expect.any(String), requestId: expect.any(String) });
  };

  it('needs the API key', async () => {
    expectError(await t.http.put('/api/sandbox/faults').send({}), 401);
  });

  describe('input errors are 4xx JSON', () => {
    it('scan: unknown session, bad phone, unknown field', async () => {
      expectError(await api(t.http.post('/api/sandbox/sessions/nobody/scan')).send({}), [404, 409]);
      const bad = await api(t.http.post('/api/sandbox/sessions/nobody/scan')).send({ phone: '12ab' });
      expectError(bad, 400);
      expect(new Set(bad.body.details.map((d: { field: string }) => d.field))).toEqual(new Set(['phone']));
      expectError(await api(t.http.post('/api/sandbox/sessions/nobody/scan')).send({ qr: 'x' }), 400);
    });

    it('inbound: unknown session, bad number, missing text', async () => {
      expectError(await api(t.http.post('/api/sandbox/inbound')).send({ session: 'nobody', from: '5511999990001', text: 'hi' }), [404, 409]);
      expectError(await api(t.http.post('/api/sandbox/inbound')).send({ session: 'nobody', from: 'abc', text: 'hi' }), 400);
      const missing = await api(t.http.post('/api/sandbox/inbound')).send({ session: 'nobody', from: '5511999990001' });
      expectError(missing, 400);
      expect(new Set(missing.body.details.map((d: { field: string }) => d.field))).toEqual(new Set(['text']));
    });

    it('inbound media: each bad field is named', async () => {
      const cases: Array<[Record<string, unknown>, string[]]> = [
        [{ type: 'image' }, ['media']],
        [{ type: 'image', media: { data: 'not base64!', mimetype: 'image/png' } }, ['media.data']],
        [{ type: 'image', media: { data: 'AAAA' } }, ['media.mimetype']],
        [{ type: 'image', media: { data: 'AAAA', mimetype: 'image/png', size: 3 } }, ['media.size']],
        [{ type: 'image', media: [] }, ['media']],
        [{ type: 'sticker', media: { data: 'AAAA', mimetype: 'image/webp' }, caption: 'no' }, ['caption']],
        [{ type: 'gif', media: { data: 'AAAA', mimetype: 'image/gif' } }, ['type']],
        [{ type: 'location', location: { latitude: 91, longitude: 0 } }, ['location.latitude']],
        [{ text: 'hi', replyTo: 'not an id!' }, ['replyTo']],
      ];
      for (const [message, fields] of cases) {
        const res = await api(t.http.post('/api/sandbox/inbound')).send({ session: 'nobody', from: '5511999990001', ...message });
        expectError(res, 400);
        expect({ message, fields: [...new Set(res.body.details.map((d: { field: string }) => d.field))] }).toEqual({ message, fields });
      }
    });

    it('contact messages: bad phone', async () => {
      expectError(await api(t.http.get('/api/sandbox/contacts/12/messages')), 400);
      expectError(await api(t.http.get('/api/sandbox/contacts/55-11-9999/messages')), 400);
    });

    it('disconnect: unsupported code, missing code, unknown session', async () => {
      const bad = await api(t.http.post('/api/sandbox/sessions/nobody/disconnect')).send({ code: 500 });
      expectError(bad, 400);
      expect(new Set(bad.body.details.map((d: { field: string }) => d.field))).toEqual(new Set(['code']));
      expectError(await api(t.http.post('/api/sandbox/sessions/nobody/disconnect')).send({ code: '428' }), 400);
      expectError(await api(t.http.post('/api/sandbox/sessions/nobody/disconnect')).send({}), 400);
      expectError(await api(t.http.post('/api/sandbox/sessions/nobody/disconnect')).send({ code: 428 }), [404, 409]);
    });

    it('faults: out of range, wrong type, unknown field', async () => {
      for (const body of [{ dropRate: 1.5 }, { dropRate: -0.1 }, { latencyMs: 1.5 }, { latencyMs: 60001 }, { refuseConnections: 'yes' }, { jitter: 1 }]) {
        expectError(await api(t.http.put('/api/sandbox/faults')).send(body), 400);
      }
    });
  });

  it('sets and clears faults', async () => {
    const set = await api(t.http.put('/api/sandbox/faults')).send({ latencyMs: 25, dropRate: 0.5, refuseConnections: false });
    expect(set.status).toBe(200);
    expect(set.body).toEqual({ latencyMs: 25, dropRate: 0.5 });
    expect(network.faults).toEqual({ latencyMs: 25, dropRate: 0.5 });
    const cleared = await api(t.http.put('/api/sandbox/faults')).send({});
    expect(cleared.status).toBe(200);
    expect(cleared.body).toEqual({});
    expect(network.faults).toEqual({});
  });

  it('a new contact has an empty inbox', async () => {
    const res = await api(t.http.get('/api/sandbox/contacts/+5511955550000/messages'));
    expect(res.status).toBe(200);
    expect(res.body).toEqual([]);
  });

  it('drives a linked Baileys session: inbound 202, contact inbox, disconnect', async () => {
    const { client } = await pairClient(network, 'rest-session');
    clients.push(client);

    const inbound = await api(t.http.post('/api/sandbox/inbound')).send({ session: 'rest-session', from: '+5511955550001', text: 'hello over REST' });
    expect(inbound.status).toBe(202);
    expect(inbound.body.waMessageId).toEqual(expect.any(String));
    await waitFor(() => client.inbox.some((m) => m.key.id === inbound.body.waMessageId), 'inbound message');
    expect(client.textsReceived()).toEqual(['hello over REST']);

    const sent = await client.sendText('5511955550001', 'answer');
    const inbox = await waitFor(async () => {
      const res = await api(t.http.get('/api/sandbox/contacts/5511955550001/messages'));
      return res.body.length ? res.body : null;
    }, 'contact inbox');
    expect(inbox).toEqual([{ from: network.sessionPhone('rest-session'), text: 'answer', type: 'text', waMessageId: sent, receivedAt: expect.any(String), copies: 1 }]);

    const disconnected = await api(t.http.post('/api/sandbox/sessions/rest-session/disconnect')).send({ code: 428 });
    expect(disconnected.status).toBe(200);
    expect(disconnected.body).toEqual({ session: 'rest-session', code: 428 });
    expect((await client.waitForClose()).statusCode).toBe(DisconnectReason.connectionClosed);
    expectError(await api(t.http.post('/api/sandbox/sessions/rest-session/disconnect')).send({ code: 428 }), 409);
  });

  it('inbound media over REST: the contact uploads it to the media server and the session downloads the same bytes', async () => {
    const { client } = await pairClient(network, 'rest-media');
    clients.push(client);
    const file = randomBytes(3000);
    const inbound = await api(t.http.post('/api/sandbox/inbound')).send({
      session: 'rest-media',
      from: '5511955550002',
      type: 'document',
      media: { data: file.toString('base64'), mimetype: 'application/pdf', filename: 'a.pdf' },
      caption: 'the file',
    });
    expect(inbound.status).toBe(202);
    const message = await waitFor(() => client.inbox.find((m) => m.key.id === inbound.body.waMessageId), 'inbound document');
    const document = message.message?.documentMessage ?? message.message?.documentWithCaptionMessage?.message?.documentMessage;
    expect(document).toMatchObject({ mimetype: 'application/pdf', fileName: 'a.pdf', caption: 'the file' });
    expect(new URL(document!.url!).host).toBe(network.mediaHost);
    const agents = agentsTrusting(network.mediaCaPem);
    try {
      const data = await downloadMediaMessage(message, 'buffer', { options: { dispatcher: agents.dispatcher } as RequestInit });
      expect(createHash('sha256').update(data).digest('hex')).toBe(createHash('sha256').update(file).digest('hex'));
    } finally {
      await agents.close();
    }
  });

  it('documents the routes in OpenAPI under the sandbox tag', async () => {
    const res = await t.http.get('/docs-json');
    expect(Object.keys(res.body.paths)).toEqual(
      expect.arrayContaining([
        '/api/sandbox/sessions/{name}/scan',
        '/api/sandbox/inbound',
        '/api/sandbox/contacts/{phone}/messages',
        '/api/sandbox/sessions/{name}/disconnect',
        '/api/sandbox/faults',
      ]),
    );
    expect(res.body.paths['/api/sandbox/faults'].put.tags).toEqual(['sandbox']);
  });
});

describe('sandbox REST routes without SANDBOX', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t?.close();
  });

  it('answers /api/sandbox/* with the normal 404 JSON', async () => {
    for (const req of [
      t.http.put('/api/sandbox/faults').send({}),
      t.http.get('/api/sandbox/contacts/5511999990001/messages'),
      t.http.post('/api/sandbox/inbound').send({ session: 'x', from: '5511999990001', text: 'hi' }),
    ]) {
      const res = await req.set('X-Api-Key', t.apiKey);
      expect(res.status).toBe(404);
      expect(res.body).toMatchObject({ statusCode: 404, error: 'Not Found' });
    }
    expect(() => t.app.get(SandboxNetwork)).toThrow();
  });
});
