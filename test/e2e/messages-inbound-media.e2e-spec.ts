import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import type request from 'supertest';
import { JobId, QueueName } from '../../src/infra/queues/queue-catalogue';
import { QueuesService } from '../../src/infra/queues/queues.service';
import { MediaFileSweeper } from '../../src/modules/messaging/media/media-file-sweeper';
import { query } from '../helpers/db-query';
import { sessionsApi } from '../helpers/sessions-api';
import { startTestApp, type TestApp } from '../helpers/test-app';
import { waitFor } from '../helpers/test-env';

interface MessageBody {
  id: string;
  type: string;
  status: string;
  text: string | null;
  waMessageId: string | null;
}
interface MediaView {
  mimetype: string;
  filename: string | null;
  size: number | null;
  url: string;
  status?: string;
  error?: string;
}
interface EventBody {
  event: string;
  sequence: number;
  data: MessageBody & { media?: MediaView };
}

const MAX = 200_000;
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
/** Distinct synthetic files (WhatsApp does not look inside; thumbnails of such bytes only fail and log). */
const fileOf = (label: string, size = 5000) => Buffer.concat([Buffer.from(`${label}:`), Buffer.alloc(size, label.charCodeAt(0))]);
/** supertest collects binary bodies as Buffers with this parser. */
const binary = (res: request.Response, callback: (error: Error | null, body: Buffer) => void) => {
  const chunks: Buffer[] = [];
  res.on('data', (chunk: Buffer) => chunks.push(chunk));
  res.on('end', () => callback(null, Buffer.concat(chunks)));
};

/**
 * Received media, downloaded in the background: a contact of the sandbox
 * sends every media type for real (encrypted, uploaded to the sandbox's media
 * server); ZapHub records the message at once (`message.received` with
 * `media.url`), the session's owner downloads and decrypts the file into
 * MEDIA_DIR, `message.media` follows, and GET /api/media/:id serves the bytes
 * intact: 409 before, 410 when the download failed for good.
 */
describe('received media (sandbox, real Baileys, PostgreSQL, Redis)', () => {
  let t: TestApp;
  const key = <R extends { set(name: string, value: string): R }>(r: R) => r.set('X-Api-Key', t.apiKey);
  const events = async () => (await key(t.http.get('/api/sessions/inbox/events?limit=1000'))).body.items as EventBody[];
  const eventOf = (type: string, waMessageId: string) =>
    waitFor(async () => (await events()).find((e) => e.event === type && e.data.waMessageId === waMessageId), `${type} of ${waMessageId}`, 30_000);
  const getMedia = (id: string) => key(t.http.get(`/api/media/${id}`)).buffer(true).parse(binary);
  const receive = async (from: string, body: Record<string, unknown>) => {
    const res = await key(t.http.post('/api/sandbox/inbound')).send({ session: 'inbox', from, ...body });
    expect(res.status).toBe(202);
    return res.body.waMessageId as string;
  };

  beforeAll(async () => {
    t = await startTestApp({
      SANDBOX: 'true',
      STATUS_DEBOUNCE_MS: '0',
      HUMANIZE_ENABLED: 'false',
      MEDIA_MAX_BYTES: String(MAX),
      QUEUE_MEDIA_DOWNLOAD_ATTEMPTS: '3',
      MESSAGE_RECONCILE_INTERVAL_MS: '1000',
    });
    const api = sessionsApi(t);
    await api.create('inbox');
    await api.pair('inbox', '5511974000001');
  });
  afterAll(async () => {
    await t?.close();
  });

  it('downloads every media type in the background: message.received with media.url at once, then the bytes intact and message.media', async () => {
    const from = '5511974000101';
    const cases = [
      { type: 'image', mimetype: 'image/jpeg', caption: 'a photo', data: fileOf('image') },
      { type: 'video', mimetype: 'video/mp4', caption: 'a clip', data: fileOf('video', 20_000) },
      { type: 'audio', mimetype: 'audio/ogg; codecs=opus', data: fileOf('audio') },
      { type: 'document', mimetype: 'application/pdf', filename: 'relatório final.pdf', data: fileOf('document', 50_000) },
      { type: 'sticker', mimetype: 'image/webp', data: fileOf('sticker') },
    ];
    const sent = [];
    for (const c of cases) {
      const waMessageId = await receive(from, {
        type: c.type,
        ...(c.caption ? { caption: c.caption } : {}),
        media: { data: c.data.toString('base64'), mimetype: c.mimetype, ...(c.filename ? { filename: c.filename } : {}) },
      });
      sent.push({ ...c, waMessageId });
    }
    for (const c of sent) {
      const received = await eventOf('message.received', c.waMessageId);
      expect(received.data).toMatchObject({ type: c.type, status: 'RECEIVED' });
      expect(received.data.media).toEqual({ mimetype: c.mimetype, filename: c.filename ?? null, size: c.data.length, url: `/api/media/${received.data.id}` });

      const ready = await eventOf('message.media', c.waMessageId);
      expect(ready.sequence).toBeGreaterThan(received.sequence);
      expect(ready.data).toMatchObject({ id: received.data.id, type: c.type, status: 'RECEIVED' });
      expect(ready.data.media).toEqual({ mimetype: c.mimetype, filename: c.filename ?? null, size: c.data.length, url: `/api/media/${received.data.id}`, status: 'READY' });

      const file = await getMedia(received.data.id);
      expect(file.status).toBe(200);
      expect(sha256(file.body as Buffer)).toBe(sha256(c.data));
      expect(file.headers['content-type']).toBe(c.mimetype);
      expect(file.headers['content-length']).toBe(String(c.data.length));
      expect(file.headers['content-disposition']).toMatch(/^attachment; filename="/);
      if (c.filename) expect(file.headers['content-disposition']).toBe(`attachment; filename="relat_rio final.pdf"; filename*=UTF-8''${encodeURIComponent(c.filename)}`);
    }
    const [row] = await query<{ n: string }>(t.env.databaseUrl, `SELECT count(*)::text AS n FROM "Media" WHERE status = 'READY' AND "storageKey" IS NOT NULL AND "attempts" = 1`);
    expect(Number(row!.n)).toBeGreaterThanOrEqual(cases.length);
  });

  it('answers 409 DOWNLOADING while a download that failed first waits for its retry, then the file', async () => {
    const from = '5511974000102';
    const data = fileOf('retried image');
    // The media server fails the next download (the session's first attempt): BullMQ retries it after ~2 s.
    expect((await key(t.http.put('/api/sandbox/faults')).send({ mediaDownloadFailures: 1 })).body).toEqual({ mediaDownloadFailures: 1 });
    const waMessageId = await receive(from, { type: 'image', media: { data: data.toString('base64'), mimetype: 'image/png' } });
    const received = await eventOf('message.received', waMessageId);
    const id = received.data.id;

    // The first attempt failed (the fault is used up), the retry is not due yet.
    await waitFor(async () => (await query<{ attempts: number }>(t.env.databaseUrl, `SELECT attempts FROM "Media" WHERE "messageId" = $1`, [id]))[0]?.attempts === 1, 'the first attempt failed');
    const pending = await key(t.http.get(`/api/media/${id}`));
    expect(pending.status).toBe(409);
    expect(pending.body).toMatchObject({ statusCode: 409, status: 'DOWNLOADING' });
    expect((await key(t.http.put('/api/sandbox/faults')).send({})).body).toEqual({});

    await eventOf('message.media', waMessageId);
    const file = await getMedia(id);
    expect(file.status).toBe(200);
    expect(sha256(file.body as Buffer)).toBe(sha256(data));
    expect(file.headers['content-type']).toBe('image/png');
    const [row] = await query<{ status: string; attempts: number; error: string | null }>(t.env.databaseUrl, `SELECT status::text, attempts, error FROM "Media" WHERE "messageId" = $1`, [id]);
    expect(row).toEqual({ status: 'READY', attempts: 2, error: null });
  });

  it('re-creates a lost download job (the reconciler) and the file arrives', async () => {
    const data = fileOf('lost job');
    await key(t.http.put('/api/sandbox/faults')).send({ mediaDownloadFailures: 1 });
    const waMessageId = await receive('5511974000105', { type: 'sticker', media: { data: data.toString('base64'), mimetype: 'image/webp' } });
    const id = (await eventOf('message.received', waMessageId)).data.id;
    await waitFor(async () => (await query<{ attempts: number }>(t.env.databaseUrl, `SELECT attempts FROM "Media" WHERE "messageId" = $1`, [id]))[0]?.attempts === 1, 'the first attempt failed');
    // The retry waiting in BullMQ is lost (as with a Redis restart): only the reconciler can bring it back.
    const queue = t.app.get(QueuesService).get(QueueName.MediaDownload);
    expect(await queue.remove(JobId.mediaDownload(id))).toBe(1);
    expect(await queue.getJob(JobId.mediaDownload(id))).toBeUndefined();
    await key(t.http.put('/api/sandbox/faults')).send({});

    const ready = await eventOf('message.media', waMessageId);
    expect(ready.data.media).toMatchObject({ status: 'READY', size: data.length });
    const file = await getMedia(id);
    expect(sha256(file.body as Buffer)).toBe(sha256(data));
  });

  it('keeps the message but fails its media above MEDIA_MAX_BYTES: 410 FAILED and message.media FAILED', async () => {
    const from = '5511974000103';
    const big = fileOf('too big', MAX + 1000);
    const waMessageId = await receive(from, { type: 'document', media: { data: big.toString('base64'), mimetype: 'application/zip', filename: 'big.zip' } });
    const received = await eventOf('message.received', waMessageId);
    expect(received.data.media).toMatchObject({ size: big.length, filename: 'big.zip' });

    const failed = await eventOf('message.media', waMessageId);
    expect(failed.data.media).toMatchObject({ status: 'FAILED', error: expect.stringMatching(/MEDIA_MAX_BYTES/) });
    const message = await key(t.http.get(`/api/messages/${received.data.id}`));
    expect(message.body).toMatchObject({ status: 'RECEIVED', type: 'document' });
    const file = await key(t.http.get(`/api/media/${received.data.id}`));
    expect(file.status).toBe(410);
    expect(file.body).toMatchObject({ statusCode: 410, error: 'Gone', status: 'FAILED' });
  });

  it('deletes the file once its message is gone (pruned history, deleted session): the sweeper', async () => {
    const data = fileOf('pruned');
    const waMessageId = await receive('5511974000106', { type: 'image', media: { data: data.toString('base64'), mimetype: 'image/jpeg' } });
    const id = (await eventOf('message.media', waMessageId)).data.id;
    const [row] = await query<{ storageKey: string }>(t.env.databaseUrl, `SELECT "storageKey" FROM "Media" WHERE "messageId" = $1`, [id]);
    const file = path.join(t.env.config.MEDIA_DIR, ...row!.storageKey.split('/'));
    expect(existsSync(file)).toBe(true);

    const sweeper = t.app.get(MediaFileSweeper);
    expect(await sweeper.sweep(0)).toBe(0); // every file has its message
    await query(t.env.databaseUrl, `DELETE FROM "Message" WHERE id = $1`, [id]); // as the history pruning does (Media goes by cascade)
    expect(await sweeper.sweep(0)).toBe(1);
    expect(existsSync(file)).toBe(false);
    expect((await key(t.http.get(`/api/media/${id}`))).status).toBe(404);
  });

  it('answers 404 for an unknown message and for a message without media', async () => {
    expect((await key(t.http.get('/api/media/00000000-0000-4000-8000-000000000000'))).status).toBe(404);
    const waMessageId = await receive('5511974000104', { text: 'just text' });
    const received = await eventOf('message.received', waMessageId);
    expect(received.data.media).toBeUndefined();
    expect((await key(t.http.get(`/api/media/${received.data.id}`))).status).toBe(404);
    expect((await key(t.http.get('/api/media/not-a-uuid'))).status).toBe(400);
  });
});
