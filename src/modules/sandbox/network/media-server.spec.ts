import { createHash, randomBytes } from 'node:crypto';
import { request } from 'node:https';
import { downloadContentFromMessage, encryptedStream, getWAUploadToServer, type SocketConfig } from '@whiskeysockets/baileys';
import pino from 'pino';
import { agentsTrusting, type AgentsTrusting } from '../../../common/tls/agents-trusting';
import { SandboxMediaServer } from './media-server';

const b64url = (data: Buffer) => createHash('sha256').update(data).digest('base64url');

describe('SandboxMediaServer', () => {
  let server: SandboxMediaServer;
  let agents: AgentsTrusting;

  beforeAll(async () => {
    server = new SandboxMediaServer({ maxBytes: 4096, maxFileBytes: 2048 });
    await server.start();
    agents = agentsTrusting(server.caPem);
  });

  afterAll(async () => {
    await agents?.close();
    await server?.close();
  });

  /** A POST like Baileys' uploadWithNodeHttp makes. */
  function upload(body: Buffer, query: { auth?: string; token?: string } = {}): Promise<{ status: number; json: Record<string, string> }> {
    const token = query.token ?? b64url(body);
    const auth = encodeURIComponent(query.auth ?? server.auth);
    return new Promise((resolve, reject) => {
      const req = request(
        `https://${server.hostname}/mms/image/${token}?auth=${auth}&token=${token}`,
        { method: 'POST', agent: agents.httpsAgent, headers: { 'content-type': 'application/octet-stream', 'content-length': body.length } },
        (res) => {
          let text = '';
          res.on('data', (chunk: Buffer) => (text += chunk.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) as Record<string, string> }));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  it('stores an upload and serves it whole and by byte range', async () => {
    const body = randomBytes(1000);
    const { status, json } = await upload(body);
    expect(status).toBe(200);
    expect(json.direct_path).toMatch(/^\/v\/t62\.7118-24\/[0-9a-f]{32}\.enc\?/);
    expect(json.url).toBe(`https://${server.hostname}${json.direct_path}&mms3=true`);

    const whole = await fetch(json.url!, { dispatcher: agents.dispatcher } as RequestInit);
    expect(whole.status).toBe(200);
    expect(whole.headers.get('accept-ranges')).toBe('bytes');
    expect(Buffer.from(await whole.arrayBuffer())).toEqual(body);

    const part = await fetch(`https://${server.hostname}${json.direct_path}`, { dispatcher: agents.dispatcher, headers: { range: 'bytes=16-63' } } as RequestInit);
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe('bytes 16-63/1000');
    expect(Buffer.from(await part.arrayBuffer())).toEqual(body.subarray(16, 64));

    const tail = await fetch(json.url!, { dispatcher: agents.dispatcher, headers: { range: 'bytes=992-2000' } } as RequestInit);
    expect(Buffer.from(await tail.arrayBuffer())).toEqual(body.subarray(992));
    const past = await fetch(json.url!, { dispatcher: agents.dispatcher, headers: { range: 'bytes=1000-' } } as RequestInit);
    expect(past.status).toBe(416);
    expect(server.stats).toMatchObject({ files: 1, bytes: 1000, uploads: 1 });
  });

  it('refuses an upload with a wrong auth token, a body that does not match its hash, or too many bytes', async () => {
    const body = randomBytes(100);
    const before = server.stats;
    expect((await upload(body, { auth: 'not-the-token' })).status).toBe(401);
    expect((await upload(body, { token: b64url(randomBytes(100)) })).status).toBe(400);
    expect((await upload(randomBytes(2049))).status).toBe(413);
    expect(server.stats.uploads).toBe(before.uploads);
    expect(server.stats.refused).toBe(before.refused + 3);
  });

  it('fails the next n downloads with 503 when told to (fault injection), then serves again', async () => {
    const body = randomBytes(200);
    const { json } = await upload(body);
    server.failNextDownloads(2);
    expect(server.downloadFailuresLeft).toBe(2);
    expect((await fetch(json.url!, { dispatcher: agents.dispatcher } as RequestInit)).status).toBe(503);
    expect((await fetch(json.url!, { dispatcher: agents.dispatcher } as RequestInit)).status).toBe(503);
    expect(server.downloadFailuresLeft).toBe(0);
    const ok = await fetch(json.url!, { dispatcher: agents.dispatcher } as RequestInit);
    expect(ok.status).toBe(200);
    expect(Buffer.from(await ok.arrayBuffer())).toEqual(body);
  });

  it('answers 404 for a file it does not have', async () => {
    const response = await fetch(`https://${server.hostname}/v/t62.7118-24/${'0'.repeat(32)}.enc`, { dispatcher: agents.dispatcher } as RequestInit);
    expect(response.status).toBe(404);
  });

  it('is not trusted without its CA', async () => {
    await expect(fetch(`https://${server.hostname}/v/t62.7118-24/${'0'.repeat(32)}.enc`)).rejects.toThrow(/fetch failed/);
  });

  it("round-trips media through Baileys' own upload and download functions", async () => {
    const plain = randomBytes(700);
    const logger = pino({ level: 'silent' });
    const { mediaKey, encFilePath, fileEncSha256 } = await encryptedStream(plain, 'document', { logger });
    const config = { customUploadHosts: [], fetchAgent: agents.httpsAgent, logger, options: {} } as unknown as SocketConfig;
    const media = server.mediaConn;
    const uploadToServer = getWAUploadToServer(config, async () => ({
      hosts: [{ hostname: media.hostname, maxContentLengthBytes: media.maxContentLengthBytes }],
      auth: media.auth,
      ttl: media.ttlSeconds,
      fetchDate: new Date(),
    }));
    const { mediaUrl, directPath } = await uploadToServer(encFilePath, { mediaType: 'document', fileEncSha256B64: fileEncSha256.toString('base64') });

    const stream = await downloadContentFromMessage({ mediaKey, directPath, url: mediaUrl }, 'document', {
      options: { dispatcher: agents.dispatcher } as RequestInit,
    });
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks)).toEqual(plain);

    // A ranged read, the way Baileys asks for the middle of a file.
    const ranged = await downloadContentFromMessage({ mediaKey, directPath, url: mediaUrl }, 'document', {
      startByte: 100,
      endByte: 300,
      options: { dispatcher: agents.dispatcher } as RequestInit,
    });
    const part: Buffer[] = [];
    for await (const chunk of ranged) part.push(chunk as Buffer);
    expect(Buffer.concat(part)).toEqual(plain.subarray(100, 300));
  });
});
