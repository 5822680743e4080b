import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { sessionsApi } from '../helpers/sessions-api';
import { startTestApp, type TestApp } from '../helpers/test-app';
import { waitFor } from '../helpers/test-env';

interface InboxEntry {
  text: string | null;
  type: string;
  waMessageId: string;
  copies: number;
  quotedId?: string;
  media?: { mimetype: string; filename?: string; size: number; sha256: string };
}
interface MessageBody {
  id: string;
  status: string;
  type: string;
  text: string | null;
  attempts: number;
  error: string | null;
  waMessageId: string | null;
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
/** Distinct synthetic files: WhatsApp does not look inside (thumbnails of such bytes only fail and log). */
const fileOf = (label: string, size = 3000) => Buffer.concat([Buffer.from(`${label}:`), Buffer.alloc(size, label.charCodeAt(0))]);

/**
 * Media messages end to end: POST /api/sessions/:name/messages with base64 or
 * a URL, sent by the real Baileys client (encrypted, uploaded to the
 * sandbox's media server), downloaded and decrypted by the fake contact: the
 * bytes arrive intact (sha256). Replies quote the right message both ways.
 */
describe('media messages (sandbox, real Baileys, PostgreSQL, Redis)', () => {
  const MAX = 200_000;
  let t: TestApp;
  let files: http.Server;
  let filesUrl: string;
  const served = new Map<string, Buffer>();
  const key = <R extends { set(name: string, value: string): R }>(r: R) => r.set('X-Api-Key', t.apiKey);
  const send = (body: Record<string, unknown>) => key(t.http.post('/api/sessions/media/messages')).send(body);
  const getMessage = async (id: string) => (await key(t.http.get(`/api/messages/${id}`))).body as MessageBody;
  const inbox = async (phone: string) => (await key(t.http.get(`/api/sandbox/contacts/${phone}/messages`))).body as InboxEntry[];
  const arrived = (phone: string, waMessageId: string) =>
    waitFor(async () => (await inbox(phone)).find((m) => m.waMessageId === waMessageId && (m.type === 'text' || m.media)), `${waMessageId} decrypted at ${phone}`, 30_000);
  const sentOf = (id: string) =>
    waitFor(
      async () => {
        const m = await getMessage(id);
        return ['SENT', 'DELIVERED', 'READ'].includes(m.status) ? m : null;
      },
      `message ${id} sent`,
      30_000,
    );

  beforeAll(async () => {
    files = http.createServer((req, res) => {
      const file = served.get(req.url ?? '');
      if (!file) return res.writeHead(404).end();
      res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(file);
    });
    await new Promise<void>((resolve) => files.listen(0, '127.0.0.1', resolve));
    filesUrl = `http://127.0.0.1:${(files.address() as AddressInfo).port}`;
    // The file server is on loopback: this app lets its guard through (another app below checks the refusal).
    t = await startTestApp({ SANDBOX: 'true', STATUS_DEBOUNCE_MS: '0', HUMANIZE_ENABLED: 'false', WEBHOOK_ALLOW_PRIVATE: 'true', MEDIA_MAX_BYTES: String(MAX) });
    const api = sessionsApi(t);
    await api.create('media');
    await api.pair('media', '5511973000001');
  });
  afterAll(async () => {
    await t?.close();
    await new Promise((resolve) => files?.close(resolve));
  });

  it('sends every media type from base64: each arrives as its type with its bytes intact', async () => {
    const contact = '5511973000101';
    const cases = [
      { type: 'image', mimetype: 'image/jpeg', text: 'a photo', data: fileOf('image') },
      { type: 'video', mimetype: 'video/mp4', text: 'a clip', data: fileOf('video') },
      { type: 'audio', mimetype: 'audio/ogg; codecs=opus', ptt: true, data: fileOf('audio') },
      { type: 'document', mimetype: 'application/pdf', filename: 'report.pdf', text: 'the report', data: fileOf('document') },
      { type: 'sticker', mimetype: 'image/webp', data: fileOf('sticker') },
    ];
    const accepted = [];
    for (const { data, ...rest } of cases) {
      const res = await send({ to: contact, ...rest, media: { data: data.toString('base64') } });
      expect(res.status).toBe(202);
      expect(res.body).toMatchObject({ type: rest.type, status: 'QUEUED', text: rest.text ?? null });
      // The Message never carries the bytes.
      expect(JSON.stringify(res.body)).not.toContain(data.toString('base64').slice(0, 40));
      accepted.push(res.body as MessageBody);
    }
    for (const [i, message] of accepted.entries()) {
      const sent = await sentOf(message.id);
      const entry = await arrived(contact, sent.waMessageId!);
      const c = cases[i]!;
      expect(entry.type).toBe(c.type);
      expect(entry.media).toMatchObject({ size: c.data.length, sha256: sha256(c.data) });
      expect(entry.media!.mimetype.split(';')[0]).toBe(c.mimetype.split(';')[0]);
      if (c.filename) expect(entry.media!.filename).toBe(c.filename);
      if (c.text) expect(entry.text).toBe(c.text);
      expect(entry.copies).toBe(1);
    }
  });

  it('downloads a media URL when the message is sent; a URL that answers 404 fails the message at once', async () => {
    const contact = '5511973000102';
    const photo = fileOf('url-photo', 5000);
    served.set('/photo.png', photo);
    const ok = await send({ to: contact, type: 'image', mimetype: 'image/png', media: { url: `${filesUrl}/photo.png` } });
    expect(ok.status).toBe(202);
    const entry = await arrived(contact, (await sentOf(ok.body.id)).waMessageId!);
    expect(entry.media).toMatchObject({ size: photo.length, sha256: sha256(photo) });

    const missing = await send({ to: contact, type: 'document', media: { url: `${filesUrl}/gone.pdf` } });
    expect(missing.status).toBe(202);
    const failed = await waitFor(
      async () => {
        const m = await getMessage(missing.body.id);
        return m.status === 'FAILED' ? m : null;
      },
      'the message FAILED',
      15_000,
    );
    expect(failed.error).toBe('media.url answered HTTP 404');
    // The chat goes on after it.
    const after = await send({ to: contact, type: 'text', text: 'after the failed file' });
    await arrived(contact, (await sentOf(after.body.id)).waMessageId!);
  });

  it('refuses base64 above MEDIA_MAX_BYTES with a 400 and stores nothing', async () => {
    const res = await send({ to: '5511973000103', type: 'document', media: { data: Buffer.alloc(MAX + 1, 1).toString('base64') } });
    expect(res.status).toBe(400);
    expect(res.body.details).toEqual([expect.objectContaining({ field: 'media.data', message: expect.stringMatching(/at most 200000 \(MEDIA_MAX_BYTES\)/) })]);
    expect((await key(t.http.get('/api/sessions/media/messages?chatId=5511973000103'))).body.items).toEqual([]);
  });

  it('quotes both ways: a reply to a received media message, and a contact replying to a sent one', async () => {
    const contact = '5511973000104';
    const image = fileOf('inbound-image');
    const inbound = await key(t.http.post('/api/sandbox/inbound')).send({
      session: 'media',
      from: contact,
      type: 'image',
      caption: 'look',
      media: { data: image.toString('base64'), mimetype: 'image/jpeg' },
    });
    expect(inbound.status).toBe(202);
    const received = await waitFor(async () => {
      const items = (await key(t.http.get(`/api/sessions/media/messages?direction=inbound&chatId=${contact}`))).body.items as MessageBody[];
      return items.find((m) => m.waMessageId === inbound.body.waMessageId);
    }, 'the image recorded');
    expect(received).toMatchObject({ type: 'image', text: 'look', status: 'RECEIVED' });

    const reply = await send({ to: contact, type: 'text', text: 'nice', replyTo: received.id });
    const entry = await arrived(contact, (await sentOf(reply.body.id)).waMessageId!);
    expect(entry.quotedId).toBe(inbound.body.waMessageId);

    const answer = await key(t.http.post('/api/sandbox/inbound')).send({ session: 'media', from: contact, text: 'thanks', replyTo: entry.waMessageId });
    expect(answer.status).toBe(202);
    const event = await waitFor(async () => {
      const items = (await key(t.http.get('/api/sessions/media/events?limit=1000'))).body.items as Array<{ event: string; data: { waMessageId: string; quotedWaMessageId?: string } }>;
      return items.find((e) => e.event === 'message.received' && e.data.waMessageId === answer.body.waMessageId);
    }, 'message.received of the answer');
    expect(event.data.quotedWaMessageId).toBe(entry.waMessageId);
  });

  it('refuses a media URL on a private address unless WEBHOOK_ALLOW_PRIVATE, and stores nothing', async () => {
    const strict = await startTestApp({ STATUS_DEBOUNCE_MS: '0' });
    try {
      const k = <R extends { set(name: string, value: string): R }>(r: R) => r.set('X-Api-Key', strict.apiKey);
      expect((await k(strict.http.post('/api/sessions')).send({ name: 'strict', start: false })).status).toBe(201);
      const res = await k(strict.http.post('/api/sessions/strict/messages')).send({ to: '5511973000105', type: 'image', media: { url: `${filesUrl}/photo.png` } });
      expect(res.status).toBe(400);
      expect(res.body.details).toEqual([expect.objectContaining({ field: 'media.url', message: expect.stringMatching(/must not point to 127\.0\.0\.1/) })]);
      expect((await k(strict.http.get('/api/sessions/strict/messages')).send()).body.items).toEqual([]);
    } finally {
      await strict.close();
    }
  });
});
