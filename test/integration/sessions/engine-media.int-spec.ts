import { createHash, randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { SandboxNetwork } from '../../../src/modules/sandbox/network/sandbox-network';
import type { ContactMessage } from '../../../src/modules/sandbox/network/sandbox-network.types';
import { AuthStateCipher } from '../../../src/modules/sessions/auth-state/auth-state-cipher';
import { AuthStateRepository } from '../../../src/modules/sessions/auth-state/auth-state.repository';
import { createAuthStateStore } from '../../../src/modules/sessions/auth-state/postgres-auth-state.store';
import { BaileysEngine } from '../../../src/modules/sessions/engine/baileys/baileys-engine';
import type { EngineConnection, EngineEvent, OutboundContent } from '../../../src/modules/sessions/engine/whatsapp-engine.port';
import { PrismaService } from '../../../src/infra/prisma/prisma.service';
import { createTestEnv, waitFor, type TestEnv } from '../../helpers/test-env';

type EventOf<T extends EngineEvent['type']> = Extract<EngineEvent, { type: T }>;

/** One engine connection and everything it emitted. */
class Recorded {
  readonly events: EngineEvent[] = [];
  connection!: EngineConnection;

  all<T extends EngineEvent['type']>(type: T): EventOf<T>[] {
    return this.events.filter((e): e is EventOf<T> => e.type === type);
  }

  next<T extends EngineEvent['type']>(type: T, label: string, after = 0, timeoutMs = 20_000): Promise<EventOf<T>> {
    return waitFor(() => this.all(type)[after], `${label} (${type} #${after + 1}; saw ${this.events.map((e) => e.type).join(',')})`, timeoutMs);
  }
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
/** Small synthetic files: real media is not needed end to end (Baileys' thumbnail and duration probes only log when they fail). */
const bytes = (size: number) => randomBytes(size);
/** Everything a download stream yields. */
const readAll = async (stream: Readable) => {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
};
/** Small enough that a few 400 KB files push the first one out (the eviction test). */
const MAX_MEDIA_BYTES = 1024 * 1024;

describe('BaileysEngine media through the sandbox media server', () => {
  let env: TestEnv;
  let prisma: PrismaService;
  let repository: AuthStateRepository;
  let network: SandboxNetwork;
  let engine: BaileysEngine;
  const open: Recorded[] = [];

  beforeAll(async () => {
    env = await createTestEnv();
    prisma = new PrismaService(env.config);
    repository = new AuthStateRepository(prisma);
    network = new SandboxNetwork({ deliveryReceiptMs: 20, readReceiptMs: 1000, fastPreKeys: true, maxMediaBytes: MAX_MEDIA_BYTES });
    await network.start();
    engine = new BaileysEngine({
      logLevel: 'silent',
      sandbox: { urlForSession: (name) => network.urlForSession(name), rootPublicKey: network.rootPublicKey, mediaCaPem: network.mediaCaPem },
      mediaReuploadTimeoutMs: 1500,
    });
  });

  afterEach(async () => {
    await Promise.all(open.splice(0).map((r) => r.connection.close()));
  });

  afterAll(async () => {
    await network?.close();
    await prisma?.disconnect();
    await env?.cleanup();
  });

  async function connect(on: BaileysEngine, name: string, sessionId: string): Promise<Recorded> {
    const recorded = new Recorded();
    const auth = createAuthStateStore(repository, AuthStateCipher.fromConfig(undefined), sessionId);
    recorded.connection = await on.connect({ sessionId, sessionName: name, auth, onEvent: (e) => void recorded.events.push(e) });
    open.push(recorded);
    return recorded;
  }

  /** QR pairing as the session runtime does it: scan, 515, reconnect, open. */
  async function pair(name: string, phone: string): Promise<{ id: string; session: Recorded }> {
    const id = (await prisma.session.create({ data: { name } })).id;
    const first = await connect(engine, name, id);
    const qr = await first.next('qr', 'first QR');
    await network.scan(name, qr.value, { phone });
    expect((await first.next('close', 'restart after pairing')).disconnect.kind).toBe('restart_required');
    await first.connection.close();
    const session = await connect(engine, name, id);
    await session.next('open', 'open after pairing');
    return { id, session };
  }

  /** The contact's inbox entry of `waMessageId` once its file is downloaded and decrypted. */
  function downloaded(contact: string, waMessageId: string): Promise<ContactMessage> {
    return waitFor(
      () => network.contactMessages(contact).find((m) => m.waMessageId === waMessageId && (m.media || m.mediaError)),
      () => `media of ${waMessageId} at ${contact} (network ${JSON.stringify(network.stats())})`,
      30_000,
    );
  }

  it('sends image, video, voice note, document and sticker; the contact downloads and decrypts each', async () => {
    const { session } = await pair('media-out', '5511900000101');
    const contact = '5511988880101';
    const chat = `${contact}@s.whatsapp.net`;
    const files: Array<{ content: Extract<OutboundContent, { media: unknown }>; data: Buffer; expected: Partial<ContactMessage> }> = [];
    const add = (content: Omit<Extract<OutboundContent, { media: unknown }>, 'media'>, data: Buffer, expected: Partial<ContactMessage>) =>
      files.push({ content: { ...content, media: data } as Extract<OutboundContent, { media: unknown }>, data, expected });
    add({ type: 'image', mimetype: 'image/jpeg', caption: 'a picture' }, bytes(3000), { type: 'image', text: 'a picture' });
    add({ type: 'video', mimetype: 'video/mp4', caption: 'a clip' }, bytes(5000), { type: 'video', text: 'a clip' });
    add({ type: 'audio', mimetype: 'audio/ogg; codecs=opus', ptt: true }, bytes(2000), { type: 'audio' });
    add({ type: 'document', mimetype: 'application/pdf', filename: 'invoice.pdf', caption: 'the invoice' }, bytes(4000), { type: 'document', text: 'the invoice' });
    add({ type: 'sticker', mimetype: 'image/webp' }, bytes(1500), { type: 'sticker' });

    for (const file of files) {
      const { waMessageId } = await session.connection.send(chat, file.content);
      const entry = await downloaded(contact, waMessageId);
      expect(entry.mediaError).toBeUndefined();
      expect(entry).toMatchObject({
        ...file.expected,
        from: '5511900000101',
        media: {
          mimetype: file.content.mimetype,
          filename: file.content.type === 'document' ? 'invoice.pdf' : null,
          size: file.data.length,
          sha256: sha256(file.data),
        },
      });
    }
    expect(network.stats().media).toMatchObject({ uploads: 5, refused: 0 });
    expect(network.stats().media.downloads).toBeGreaterThanOrEqual(5);
  });

  it('receives media a contact sends: the engine emits it and downloadMedia streams the exact bytes', async () => {
    const { session } = await pair('media-in', '5511900000102');
    const from = '5511988880102';
    const image = bytes(6000);
    const imageId = await network.inbound('media-in', from, { type: 'image', media: { data: image, mimetype: 'image/png' }, caption: 'look' });
    const { message } = await session.next('message', 'inbound image');
    expect(message).toMatchObject({ waMessageId: imageId, type: 'image', text: 'look', senderPhone: from });
    expect(message.media).toEqual({ mimetype: 'image/png', filename: null, size: image.length });
    const got = await session.connection.downloadMedia(message.raw);
    expect({ ...got, stream: await readAll(got.stream) }).toEqual({ stream: image, mimetype: 'image/png', filename: null, size: image.length });

    // Base64 as the REST API takes it, and a reply to the image.
    const doc = bytes(2500);
    const docId = await network.inbound('media-in', from, {
      type: 'document',
      media: { data: doc.toString('base64'), mimetype: 'text/csv', filename: 'report.csv' },
      replyTo: imageId,
    });
    const second = (await session.next('message', 'inbound document', 1)).message;
    expect(second).toMatchObject({ waMessageId: docId, type: 'document' });
    const got2 = await session.connection.downloadMedia(second.raw);
    expect({ ...got2, stream: await readAll(got2.stream) }).toEqual({ stream: doc, mimetype: 'text/csv', filename: 'report.csv', size: doc.length });
  });

  it('fails a download of media the server no longer has with 404: the re-upload asked of the sender\'s phone is refused too (the sandbox answers NOT_FOUND)', async () => {
    const { session } = await pair('media-gone', '5511900000103');
    const from = '5511988880103';
    await network.inbound('media-gone', from, { type: 'document', media: { data: bytes(400 * 1024), mimetype: 'application/zip' } });
    const { message } = await session.next('message', 'inbound document');
    // Three more files of the same size overflow the 1 MiB store: the first is evicted.
    for (let i = 0; i < 3; i++) await network.inbound('media-gone', from, { type: 'document', media: { data: bytes(400 * 1024), mimetype: 'application/zip' } });
    await session.next('message', 'the last document', 3);
    expect(network.stats().media.evicted).toBeGreaterThanOrEqual(1);
    await expect(session.connection.downloadMedia(message.raw)).rejects.toMatchObject({ output: { statusCode: 404 } });
  });

  it('does not trust the media server without its CA (an engine given only the root key)', async () => {
    const untrusting = new BaileysEngine({
      logLevel: 'silent',
      sandbox: { urlForSession: (name) => network.urlForSession(name), rootPublicKey: network.rootPublicKey },
    });
    const { id } = await pair('media-untrusted', '5511900000104');
    await Promise.all(open.splice(0).map((r) => r.connection.close()));
    const session = await connect(untrusting, 'media-untrusted', id);
    await session.next('open', 'open');
    const uploadsBefore = network.stats().media.uploads;
    await expect(
      session.connection.send('5511988880104@s.whatsapp.net', { type: 'image', media: bytes(1000), mimetype: 'image/jpeg' }),
    ).rejects.toThrow(/upload failed/i);
    expect(network.stats().media.uploads).toBe(uploadsBefore);
  });
});
