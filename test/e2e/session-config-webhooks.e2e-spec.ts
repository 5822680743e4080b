import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { EventLog } from '../../src/infra/events/event-log';
import { TransactionRunner } from '../../src/infra/prisma/transaction';
import { SessionsService } from '../../src/modules/sessions/sessions.service';
import { query } from '../helpers/db-query';
import { startTestApp, type TestApp } from '../helpers/test-app';
import { waitFor } from '../helpers/test-env';
import { WebhookReceiver } from '../helpers/webhook-receiver';

const secretOf = () => `whsec_${randomBytes(32).toString('base64')}`;

/** `config.webhooks` of POST/PATCH /api/sessions become real, signed endpoints (source "config"). */
describe('config.webhooks of a session', () => {
  let t: TestApp;
  let receiver: WebhookReceiver;
  let other: WebhookReceiver;
  const key = <R extends { set(name: string, value: string): R }>(r: R) => r.set('X-Api-Key', t.apiKey);

  beforeAll(async () => {
    [receiver, other] = await Promise.all([WebhookReceiver.start(), WebhookReceiver.start()]);
    t = await startTestApp({ WEBHOOK_ALLOW_PRIVATE: 'true', AUTH_STATE_KEY: randomBytes(32).toString('base64') });
  });
  afterAll(async () => {
    await t?.close();
    await Promise.all([receiver?.stop(), other?.stop()]);
  });

  async function appendEvent(name: string, type: string): Promise<string> {
    const sessionId = await t.app.get(SessionsService).idOf(name);
    const log = t.app.get(EventLog);
    return (await t.app.get(TransactionRunner).run((tx) => log.append(tx, { sessionId, sessionName: name, type, data: { n: 1 } }))).id;
  }

  const endpoints = async (name: string) => (await key(t.http.get(`/api/sessions/${name}/webhooks`))).body as Array<{ id: string; url: string; events: string[]; source: string }>;

  it('creates signed endpoints with the session; the session shows url and events, never the secret', async () => {
    const secret = secretOf();
    const created = await key(t.http.post('/api/sessions')).send({ name: 'inline-1', start: false, config: { webhooks: [{ url: receiver.url, secret, events: ['session.status'] }] } });
    expect(created.status).toBe(201);
    expect(created.body.config.webhooks).toEqual([{ url: receiver.url, events: ['session.status'] }]);
    expect(JSON.stringify(created.body)).not.toContain(secret);
    const [row] = await query<{ config: unknown }>(t.env.databaseUrl, 'SELECT config FROM "Session" WHERE name = $1', ['inline-1']);
    expect(JSON.stringify(row!.config)).not.toContain('whsec_');

    const list = await endpoints('inline-1');
    expect(list).toEqual([expect.objectContaining({ url: receiver.url, events: ['session.status'], source: 'config' })]);

    const eventId = await appendEvent('inline-1', 'session.status');
    await appendEvent('inline-1', 'session.qr'); // filtered out
    const got = await waitFor(() => receiver.requests.find((r) => r.json.id === eventId), 'the inline endpoint received the event');
    expect(() => new Webhook(secret).verify(got.body, got.headers as Record<string, string>)).not.toThrow();
    expect(receiver.requests.filter((r) => r.json.session === 'inline-1').map((r) => r.json.event)).toEqual(['session.status']);
  });

  it('PATCH replaces the list: a kept url keeps its row and secret, a dropped one is removed, a new one is created', async () => {
    const secret = secretOf();
    expect((await key(t.http.post('/api/sessions')).send({ name: 'inline-2', start: false, config: { webhooks: [{ url: receiver.url, secret }] } })).status).toBe(201);
    const [before] = await endpoints('inline-2');
    const patched = await key(t.http.patch('/api/sessions/inline-2')).send({ config: { webhooks: [{ url: receiver.url, events: ['session.status'] }, { url: other.url }] } });
    expect(patched.status).toBe(200);
    expect(patched.body.config.webhooks).toEqual([{ url: receiver.url, events: ['session.status'] }, { url: other.url, events: ['*'] }]);
    const after = await endpoints('inline-2');
    expect(after.find((w) => w.url === receiver.url)).toMatchObject({ id: before!.id, events: ['session.status'] });
    expect(after.map((w) => w.url).sort()).toEqual([receiver.url, other.url].sort());

    // The kept endpoint still signs with the secret given at creation.
    const eventId = await appendEvent('inline-2', 'session.status');
    const got = await waitFor(() => receiver.requests.find((r) => r.json.id === eventId), 'delivered after PATCH');
    expect(() => new Webhook(secret).verify(got.body, got.headers as Record<string, string>)).not.toThrow();
    await waitFor(() => other.requests.find((r) => r.json.id === eventId), 'the new endpoint received it too');

    expect((await key(t.http.patch('/api/sessions/inline-2')).send({ config: { webhooks: [] } })).status).toBe(200);
    expect(await endpoints('inline-2')).toEqual([]);
  });

  it('a config endpoint is not deleted through the webhooks routes (409); PATCH without webhooks leaves them', async () => {
    expect((await key(t.http.post('/api/sessions')).send({ name: 'inline-3', start: false, config: { webhooks: [{ url: receiver.url }] } })).status).toBe(201);
    const [endpoint] = await endpoints('inline-3');
    const removed = await key(t.http.delete(`/api/sessions/inline-3/webhooks/${endpoint!.id}`));
    expect(removed.status).toBe(409);
    expect((await key(t.http.patch('/api/sessions/inline-3')).send({ config: { rateLimitPerMinute: 5 } })).status).toBe(200);
    expect(await endpoints('inline-3')).toEqual([expect.objectContaining({ id: endpoint!.id })]);
  });

  it('refuses bad entries with a 400 naming the field, and creates nothing', async () => {
    const cases: Array<[unknown, string]> = [
      [[{ url: receiver.url, events: ['message.bogus'] }], 'config.webhooks[0].events'],
      [[{ url: receiver.url, secret: 'not-a-secret' }], 'config.webhooks[0].secret'],
      [[{ url: receiver.url }, { url: receiver.url }], 'config.webhooks[1].url'],
      [[{ url: receiver.url, events: [] }], 'config.webhooks[0].events'],
    ];
    for (const [webhooks, field] of cases) {
      const res = await key(t.http.post('/api/sessions')).send({ name: 'inline-bad', start: false, config: { webhooks } });
      expect({ status: res.status, fields: (res.body.details as Array<{ field: string }>).map((d) => d.field) }).toEqual({ status: 400, fields: expect.arrayContaining([field]) });
      expect((await key(t.http.get('/api/sessions/inline-bad'))).status).toBe(404);
    }
    expect((await key(t.http.post('/api/sessions')).send({ name: 'inline-4', start: false })).status).toBe(201);
    const res = await key(t.http.patch('/api/sessions/inline-4')).send({ config: { webhooks: [{ url: receiver.url, events: ['nope'] }] } });
    expect(res.status).toBe(400);
    expect(await endpoints('inline-4')).toEqual([]);
  });
});

describe('config.webhooks with the address guard on', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t?.close();
  });

  it('refuses a private or loopback url with a 400 naming the entry, and creates no session', async () => {
    for (const url of ['http://127.0.0.1:9/hook', 'http://10.0.0.1/hook', 'http://169.254.169.254/latest']) {
      const res = await t.http.post('/api/sessions').set('X-Api-Key', t.apiKey).send({ name: 'guarded', start: false, config: { webhooks: [{ url: 'https://93.184.216.34/ok' }, { url }] } });
      expect(res.status).toBe(400);
      expect(res.body.details).toEqual([expect.objectContaining({ field: 'config.webhooks[1].url' })]);
      expect((await t.http.get('/api/sessions/guarded').set('X-Api-Key', t.apiKey)).status).toBe(404);
    }
    const [{ count }] = await query<{ count: string }>(t.env.databaseUrl, 'SELECT count(*) FROM "Webhook"');
    expect(Number(count)).toBe(0);
  });
});
