import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Webhook } from 'standardwebhooks';
import { EventLog } from '../../src/infra/events/event-log';
import { TransactionRunner } from '../../src/infra/prisma/transaction';
import { SessionsService } from '../../src/modules/sessions/sessions.service';
import { query } from '../helpers/db-query';
import { startTestApp, type TestApp } from '../helpers/test-app';
import { waitFor } from '../helpers/test-env';
import { WebhookReceiver, type ReceivedWebhook } from '../helpers/webhook-receiver';

interface DeliveryBody {
  id: string;
  webhookId: string;
  eventId: string | null;
  event: string;
  status: 'PENDING' | 'DELIVERED' | 'FAILED';
  attempts: number;
  lastStatusCode: number | null;
  lastError: string | null;
  nextAttemptAt: string | null;
  createdAt: string;
  deliveredAt: string | null;
}

interface DeliveryPage {
  items: DeliveryBody[];
  nextCursor: string | null;
}

const MAX_ATTEMPTS = 4;
const TIMEOUT_MS = 1000;
/** Short schedule: retries after [25, 50], [50, 100], [100, 200] ms (delivery-backoff.ts, jitter over the upper half). */
const WEBHOOK_ENV = {
  WEBHOOK_ALLOW_PRIVATE: 'true',
  WEBHOOK_RETRY_BASE_MS: '50',
  WEBHOOK_RETRY_MAX_DELAY_MS: '200',
  WEBHOOK_MAX_ATTEMPTS: String(MAX_ATTEMPTS),
  WEBHOOK_RECONCILE_INTERVAL_MS: '500',
  WEBHOOK_TIMEOUT_MS: String(TIMEOUT_MS),
};
const VERSION = (JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string }).version;
const otherSecret = () => `whsec_${randomBytes(32).toString('base64')}`;

/** Whether the standardwebhooks library (what a receiver runs) accepts the request with this secret. */
function verifies(secret: string, received: Pick<ReceivedWebhook, 'headers' | 'body'>, body = received.body): boolean {
  try {
    new Webhook(secret).verify(body, received.headers as Record<string, string>);
    return true;
  } catch {
    return false;
  }
}

function expectBadRequest(res: { status: number; headers: Record<string, string>; body: Record<string, unknown> }, field: string, what: string) {
  if (res.status !== 400) throw new Error(`${what}: expected 400, got ${res.status} ${JSON.stringify(res.body)}`);
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  expect(res.body).toMatchObject({ statusCode: 400, error: 'Bad Request', requestId: expect.any(String) });
  expect(res.body.details).toEqual(expect.arrayContaining([expect.objectContaining({ field })]));
}

function harness(t: TestApp) {
  const key = <R extends { set(name: string, value: string): R }>(r: R) => r.set('X-Api-Key', t.apiKey);
  const base = (session: string | null) => (session ? `/api/sessions/${session}/webhooks` : '/api/webhooks');
  const h = {
    createSession: async (name: string) => {
      const res = await key(t.http.post('/api/sessions')).send({ name, start: false });
      if (res.status !== 201) throw new Error(`create session ${name}: ${res.status} ${JSON.stringify(res.body)}`);
    },
    /** Registers an endpoint; returns its id and the secret shown once. */
    createHook: async (session: string | null, body: { url: string; events?: string[] }) => {
      const res = await key(t.http.post(base(session))).send(body);
      if (res.status !== 201) throw new Error(`create webhook: ${res.status} ${JSON.stringify(res.body)}`);
      return res.body as { id: string; secret: string; status: string };
    },
    listHooks: (session: string | null) => key(t.http.get(base(session))),
    patchHook: (session: string | null, id: string, body: unknown) => key(t.http.patch(`${base(session)}/${id}`)).send(body as object),
    removeHook: (session: string | null, id: string) => key(t.http.delete(`${base(session)}/${id}`)),
    rotate: (session: string, id: string) => key(t.http.post(`${base(session)}/${id}/rotate-secret`)).send({}),
    ping: (session: string | null, id: string) => key(t.http.post(`${base(session)}/${id}/test`)),
    deliveries: (qs = '') => key(t.http.get(`/api/webhooks/deliveries${qs}`)),
    redeliver: (id: string) => key(t.http.post(`/api/webhooks/deliveries/${id}/redeliver`)),
    events: (session: string) => key(t.http.get(`/api/sessions/${session}/events?limit=1000`)),

    /** Every delivery matching the query string, newest first (pages of 1000). */
    async allDeliveries(qs: string): Promise<DeliveryBody[]> {
      const items: DeliveryBody[] = [];
      let cursor: string | null = null;
      do {
        const res = await h.deliveries(`?${qs}&limit=1000${cursor ? `&cursor=${cursor}` : ''}`);
        if (res.status !== 200) throw new Error(`list deliveries: ${res.status} ${JSON.stringify(res.body)}`);
        const page = res.body as DeliveryPage;
        items.push(...page.items);
        cursor = page.nextCursor;
      } while (cursor);
      return items;
    },

    /**
     * Waits until no delivery matching `qs` is PENDING: a receiver records its 2xx before ZapHub writes
     * DELIVERED on the row, so rows are read only once they settled.
     */
    settled: (qs: string, timeoutMs = 15000) =>
      waitFor(async () => ((await h.deliveries(`?${qs}&status=PENDING&limit=1`)).body as DeliveryPage).items.length === 0, `no PENDING delivery for ${qs}`, timeoutMs, 50),

    /** The endpoint's only delivery once `done` holds for it. */
    async waitForDelivery(webhookId: string, done: (d: DeliveryBody) => boolean, label: string, timeoutMs = 15000): Promise<DeliveryBody> {
      let last: DeliveryBody[] = [];
      return waitFor(
        async () => {
          last = (await h.deliveries(`?webhookId=${webhookId}`)).body.items as DeliveryBody[];
          return last.length === 1 && done(last[0]!) ? last[0]! : null;
        },
        () => `${label} (last seen: ${JSON.stringify(last)})`,
        timeoutMs,
      );
    },

    /** Appends events through the event log, in one transaction, the way producers do. */
    async append(session: string, events: Array<{ type: string; data?: Record<string, unknown> }>) {
      const sessionId = await t.app.get(SessionsService).idOf(session);
      const log = t.app.get(EventLog);
      return t.app.get(TransactionRunner).run(async (tx) => {
        const out = [];
        for (const e of events) out.push(await log.append(tx, { sessionId, sessionName: session, type: e.type, data: e.data ?? {} }));
        return out;
      });
    },
    status: (session: string, status = 'WORKING', previous = 'STARTING') => h.append(session, [{ type: 'session.status', data: { status, previous, lastError: null } }]),
  };
  return h;
}

describe('webhook deliveries (real HTTP receivers, PostgreSQL, BullMQ)', () => {
  let t: TestApp;
  let h: ReturnType<typeof harness>;
  const receivers: WebhookReceiver[] = [];
  const receiver = async () => {
    const r = await WebhookReceiver.start();
    receivers.push(r);
    return r;
  };

  beforeAll(async () => {
    t = await startTestApp(WEBHOOK_ENV);
    h = harness(t);
  });
  afterAll(async () => {
    await t?.close();
    for (const r of receivers) await r.stop();
  });

  it('signs every delivery so standardwebhooks verifies it with the secret from creation, and sends every header', async () => {
    await h.createSession('sig');
    const r = await receiver();
    const hook = await h.createHook('sig', { url: r.url });
    const before = Math.floor(Date.now() / 1000);
    const [event] = await h.status('sig');

    const [got] = await waitFor(() => (r.delivered().length ? r.delivered() : null), 'the delivery');
    expect(r.requests).toHaveLength(1);
    // The body is the stored envelope, as the catch-up route shows it.
    const logged = ((await h.events('sig')).body.items as unknown[])[0];
    expect(got!.json).toEqual(logged);
    expect(got!.json).toEqual({ id: event!.id, event: 'session.status', session: 'sig', sequence: 1, timestamp: event!.timestamp, data: { status: 'WORKING', previous: 'STARTING', lastError: null } });

    expect(new Webhook(hook.secret).verify(got!.body, got!.headers as Record<string, string>)).toEqual(got!.json);
    expect(verifies(hook.secret, got!, got!.body.replace('WORKING', 'STOPPED'))).toBe(false);
    expect(verifies(hook.secret, got!, `${got!.body} `)).toBe(false);
    expect(verifies(otherSecret(), got!)).toBe(false);
    expect(verifies(hook.secret, { ...got!, headers: { ...got!.headers, 'webhook-id': 'evt_other' } })).toBe(false);

    const headers = got!.headers;
    expect(headers['webhook-id']).toBe(got!.json.id);
    expect(headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/); // one signature: no rotation
    expect(Number(headers['webhook-timestamp'])).toBeGreaterThanOrEqual(before);
    expect(Number(headers['webhook-timestamp'])).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000));
    expect(headers['content-type']).toBe('application/json');
    expect(headers['user-agent']).toBe(`ZapHub/${VERSION}`);
    expect(headers['user-agent']).toMatch(/^ZapHub\//);
    expect(headers['x-zaphub-event']).toBe('session.status');
    expect(headers['x-zaphub-session']).toBe('sig');
    expect(headers['content-length']).toBe(String(Buffer.byteLength(got!.body)));

    const delivery = await h.waitForDelivery(hook.id, (d) => d.status === 'DELIVERED', 'the DELIVERED row');
    expect(delivery).toEqual({
      id: expect.any(String),
      webhookId: hook.id,
      eventId: event!.id,
      event: 'session.status',
      status: 'DELIVERED',
      attempts: 1,
      lastStatusCode: 200,
      lastError: null,
      nextAttemptAt: null,
      createdAt: expect.any(String),
      deliveredAt: expect.any(String),
    });
  });

  it('signs with both secrets while a rotation overlaps, and with the new one alone once the overlap is over', async () => {
    await h.createSession('rot');
    const r = await receiver();
    const hook = await h.createHook('rot', { url: r.url });
    const rotated = await h.rotate('rot', hook.id);
    expect(rotated.status).toBe(200);
    const fresh = rotated.body.secret as string;
    expect(fresh).not.toBe(hook.secret);

    await h.status('rot', 'WORKING');
    const [during] = await waitFor(() => (r.delivered().length === 1 ? r.delivered() : null), 'the delivery during the overlap');
    expect(String(during!.headers['webhook-signature']).split(' ')).toEqual([expect.stringMatching(/^v1,/), expect.stringMatching(/^v1,/)]);
    expect(verifies(hook.secret, during!)).toBe(true);
    expect(verifies(fresh, during!)).toBe(true);
    expect(verifies(otherSecret(), during!)).toBe(false);

    // The overlap ends (as if WEBHOOK_SECRET_OVERLAP_HOURS had passed).
    await query(t.env.databaseUrl, `UPDATE "Webhook" SET "previousSecretExpiresAt" = now() - interval '1 second' WHERE id = $1`, [hook.id]);
    await h.status('rot', 'STOPPED', 'WORKING');
    const after = (await waitFor(() => (r.delivered().length === 2 ? r.delivered() : null), 'the delivery after the overlap'))[1]!;
    expect(after.json.sequence).toBe(2);
    expect(String(after.headers['webhook-signature']).split(' ')).toHaveLength(1);
    expect(verifies(fresh, after)).toBe(true);
    expect(verifies(hook.secret, after)).toBe(false);
  });

  it('retries a 500 on the schedule until a 200: one 2xx, four requests, the row DELIVERED after 4 attempts', async () => {
    await h.createSession('retry');
    const r = await receiver();
    r.respond = (_req, i) => (i < 3 ? { status: 500, body: `boom ${i}` } : 200);
    const hook = await h.createHook('retry', { url: r.url });
    const [event] = await h.status('retry');

    const delivery = await h.waitForDelivery(hook.id, (d) => d.status === 'DELIVERED', 'DELIVERED after retries');
    expect(delivery).toMatchObject({ eventId: event!.id, status: 'DELIVERED', attempts: 4, lastStatusCode: 200, lastError: null, nextAttemptAt: null });
    expect(r.requests.map((q) => q.status)).toEqual([500, 500, 500, 200]);
    expect(r.delivered()).toHaveLength(1);
    expect(new Set(r.requests.map((q) => q.json.id))).toEqual(new Set([event!.id]));
    // Each attempt is a fresh signature over the same body.
    for (const q of r.requests) expect(verifies(hook.secret, q)).toBe(true);
    // The waits follow the schedule's lower bounds (25, 50, 100 ms)...
    const gaps = r.requests.slice(1).map((q, i) => q.receivedAt - r.requests[i]!.receivedAt);
    [25, 50, 100].forEach((min, i) => expect(gaps[i]).toBeGreaterThanOrEqual(min - 5));
    // ...and the retries come from their own delayed triggers, not from the reconciler (which waits 5 s past due).
    expect(r.requests[3]!.receivedAt - r.requests[0]!.receivedAt).toBeLessThan(4000);
  });

  it('ends FAILED after WEBHOOK_MAX_ATTEMPTS when the receiver is down, is listed as FAILED, and a redeliver delivers it', async () => {
    await h.createSession('down');
    const r = await receiver();
    await r.stop();
    const hook = await h.createHook('down', { url: r.url });
    const [event] = await h.status('down');

    const failed = await h.waitForDelivery(hook.id, (d) => d.status === 'FAILED', 'FAILED');
    expect(failed).toMatchObject({ eventId: event!.id, attempts: MAX_ATTEMPTS, lastStatusCode: null, nextAttemptAt: null, deliveredAt: null });
    expect(failed.lastError).toMatch(/ECONNREFUSED|connect/i);
    const listed = (await h.deliveries('?status=FAILED')).body as DeliveryPage;
    expect(listed.items.map((d) => d.id)).toContain(failed.id);
    expect(listed.items.every((d) => d.status === 'FAILED')).toBe(true);
    expect(((await h.deliveries('?status=DELIVERED&session=down')).body as DeliveryPage).items).toEqual([]);

    await r.resume();
    const res = await h.redeliver(failed.id);
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ id: failed.id, status: 'PENDING', attempts: 0 });

    const delivered = await h.waitForDelivery(hook.id, (d) => d.status === 'DELIVERED', 'DELIVERED after redeliver');
    expect(delivered).toMatchObject({ id: failed.id, eventId: event!.id, attempts: 1, lastStatusCode: 200, lastError: null });
    expect(r.delivered().map((q) => q.json.id)).toEqual([event!.id]);
    expect(verifies(hook.secret, r.delivered()[0]!)).toBe(true);
  });

  it('disables the endpoint on 410: no delivery for later events until PATCH ACTIVE, then deliveries resume', async () => {
    await h.createSession('gone');
    const r = await receiver();
    r.respond = () => 410;
    const hook = await h.createHook('gone', { url: r.url });
    await h.status('gone', 'WORKING');

    const first = await h.waitForDelivery(hook.id, (d) => d.status === 'FAILED', 'FAILED on 410');
    expect(first).toMatchObject({ attempts: 1, lastStatusCode: 410 });
    expect(first.lastError).toMatch(/410/);
    const listed = (await h.listHooks('gone')).body as Array<{ id: string; status: string }>;
    expect(listed.find((w) => w.id === hook.id)?.status).toBe('DISABLED');

    // Fan-out runs in the appending transaction: once append returned, a delivery would already exist.
    await h.status('gone', 'STOPPED', 'WORKING');
    expect((await h.allDeliveries(`webhookId=${hook.id}`)).map((d) => d.id)).toEqual([first.id]);
    expect(r.requests).toHaveLength(1);

    const patched = await h.patchHook('gone', hook.id, { status: 'ACTIVE' });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ id: hook.id, status: 'ACTIVE' });
    expect(((await h.listHooks('gone')).body as Array<{ id: string; status: string }>).find((w) => w.id === hook.id)?.status).toBe('ACTIVE');

    r.respond = () => 200;
    const [third] = await h.status('gone', 'STARTING', 'STOPPED');
    const [got] = await waitFor(() => (r.delivered().length ? r.delivered() : null), 'the delivery after re-enabling');
    expect(got!.json).toMatchObject({ id: third!.id, sequence: 3 });
    const all = await h.allDeliveries(`webhookId=${hook.id}`);
    expect(all.map((d) => d.eventId)).toEqual([third!.id, first.eventId]);
    expect(r.requests.map((q) => q.json.sequence)).toEqual([1, 3]);
  });

  it('does not follow a 302: the Location target gets nothing and 302 is recorded', async () => {
    await h.createSession('redir');
    const target = await receiver();
    const r = await receiver();
    r.respond = () => ({ status: 302, body: 'x'.repeat(5000), headers: { location: target.url } });
    const hook = await h.createHook('redir', { url: r.url });
    await h.status('redir');

    // FAILED means every attempt ended; a followed redirect would have reached `target` during one of them.
    const failed = await h.waitForDelivery(hook.id, (d) => d.status === 'FAILED', 'FAILED after 302s');
    expect(failed).toMatchObject({ attempts: MAX_ATTEMPTS, lastStatusCode: 302 });
    expect(failed.lastError).toBe(`HTTP 302: ${'x'.repeat(1024)}`); // the status and 1 KB of the body
    expect(r.requests).toHaveLength(MAX_ATTEMPTS);
    expect(target.requests).toHaveLength(0);
  });

  it('cuts an attempt that gets no answer at WEBHOOK_TIMEOUT_MS and retries it', async () => {
    await h.createSession('slow');
    const r = await receiver();
    r.respond = (_req, i) => (i < 2 ? 'hang' : 200); // the first two attempts are cut, the third is answered
    const hook = await h.createHook('slow', { url: r.url });
    const [event] = await h.status('slow');

    await waitFor(() => r.requests.length >= 2, 'a retry after the first attempt timed out', 5000);
    const gap = r.requests[1]!.receivedAt - r.requests[0]!.receivedAt;
    expect(gap).toBeGreaterThanOrEqual(TIMEOUT_MS);
    expect(gap).toBeLessThan(TIMEOUT_MS + 1500); // cut at the timeout, not at the claim's lease (30 s later)
    const midway = ((await h.deliveries(`?webhookId=${hook.id}`)).body as DeliveryPage).items[0]!;
    expect(midway).toMatchObject({ status: 'PENDING', attempts: 1, lastStatusCode: null });
    expect(midway.lastError).toBe(`no answer within ${TIMEOUT_MS} ms`);

    const delivered = await h.waitForDelivery(hook.id, (d) => d.status === 'DELIVERED', 'DELIVERED after timeouts', 10000);
    expect(delivered).toMatchObject({ eventId: event!.id, attempts: 3, lastStatusCode: 200 });
    expect(r.requests).toHaveLength(3);
    expect(r.delivered()).toHaveLength(1);
  });

  it('attempts a redelivery at once even while an earlier attempt of it is still in flight', async () => {
    await h.createSession('inflight');
    const r = await receiver();
    r.respond = (_req, i) => (i === 0 ? 'hang' : 200);
    const hook = await h.createHook('inflight', { url: r.url });
    await h.status('inflight');
    await waitFor(() => r.requests.length === 1, 'the first (hanging) attempt');
    const pending = ((await h.deliveries(`?webhookId=${hook.id}`)).body as DeliveryPage).items[0]!;

    const requested = Date.now();
    const res = await h.redeliver(pending.id);
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ id: pending.id, status: 'PENDING', attempts: 0 });

    // "Due now": the redelivery's own trigger should run it, well before the reconciler's rescue (5 s past due).
    await waitFor(() => r.requests.length >= 2, 'the redelivered attempt', 10000);
    expect(r.requests[1]!.receivedAt - requested).toBeLessThan(2500);
    expect(await h.waitForDelivery(hook.id, (d) => d.status === 'DELIVERED', 'DELIVERED after the redeliver')).toMatchObject({ id: pending.id, lastStatusCode: 200 });
  });

  it('delivers to an endpoint only the events its filter names', async () => {
    await h.createSession('filt');
    const r = await receiver();
    const hook = await h.createHook('filt', { url: r.url, events: ['session.status'] });
    const appended = await h.append('filt', [
      { type: 'session.qr', data: { value: 'https://wa.me/x', expiresAt: new Date().toISOString() } },
      { type: 'session.status', data: { status: 'SCAN_QR', previous: 'STARTING', lastError: null } },
      { type: 'message.sent', data: { id: 'm1' } },
      { type: 'session.qr', data: { value: 'https://wa.me/y', expiresAt: new Date().toISOString() } },
    ]);
    await h.status('filt', 'WORKING', 'SCAN_QR');

    await waitFor(() => r.delivered().length >= 2, 'the two session.status deliveries');
    await h.settled(`webhookId=${hook.id}`);
    const rows = await h.allDeliveries(`webhookId=${hook.id}`);
    expect(rows.map((d) => d.event)).toEqual(['session.status', 'session.status']);
    expect(rows.every((d) => d.status === 'DELIVERED')).toBe(true);
    expect(r.requests.map((q) => q.json.event)).toEqual(['session.status', 'session.status']);
    expect(r.requests.map((q) => q.json.sequence).sort()).toEqual([2, 5]);
    expect(r.requests.map((q) => q.json.id)).toContain(appended[1]!.id);
  });

  it('delivers the events of every session to a global endpoint', async () => {
    await h.createSession('g-one');
    await h.createSession('g-two');
    const r = await receiver();
    const global = await h.createHook(null, { url: r.url });
    try {
      const [a] = await h.status('g-one');
      const [b] = await h.append('g-two', [{ type: 'session.qr', data: { value: 'https://wa.me/q', expiresAt: new Date().toISOString() } }]);
      await waitFor(() => r.delivered().length >= 2, 'both sessions delivered');
      const bySession = Object.fromEntries(r.delivered().map((q) => [q.headers['x-zaphub-session'] as string, q]));
      expect(Object.keys(bySession).sort()).toEqual(['g-one', 'g-two']);
      expect(bySession['g-one']!.json).toMatchObject({ id: a!.id, session: 'g-one', event: 'session.status', sequence: 1 });
      expect(bySession['g-two']!.json).toMatchObject({ id: b!.id, session: 'g-two', event: 'session.qr', sequence: 1 });
      for (const q of r.delivered()) expect(verifies(global.secret, q)).toBe(true);
      const rows = await h.allDeliveries(`webhookId=${global.id}`);
      expect(rows.map((d) => d.eventId).sort()).toEqual([a!.id, b!.id].sort());
      expect((await h.allDeliveries('session=g-two')).map((d) => d.eventId)).toEqual([b!.id]);
    } finally {
      // A global endpoint receives every later event of the app: remove it so other tests stay exact.
      expect((await h.removeHook(null, global.id)).status).toBe(204);
    }
  });

  it('sends a signed webhook.test ping with sequence 0 (session and global endpoints)', async () => {
    await h.createSession('ping');
    const r = await receiver();
    const hook = await h.createHook('ping', { url: r.url });

    const res = await h.ping('ping', hook.id);
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ webhookId: hook.id, event: 'webhook.test', status: 'PENDING', attempts: 0, eventId: expect.stringMatching(/^evt_[0-9a-f]{32}$/) });

    const [got] = await waitFor(() => (r.delivered().length ? r.delivered() : null), 'the ping');
    expect(got!.json).toEqual({ id: res.body.eventId, event: 'webhook.test', session: 'ping', sequence: 0, timestamp: expect.any(String), data: { webhookId: hook.id, url: r.url } });
    expect(got!.headers).toMatchObject({ 'webhook-id': res.body.eventId, 'x-zaphub-event': 'webhook.test', 'x-zaphub-session': 'ping' });
    expect(verifies(hook.secret, got!)).toBe(true);
    expect(verifies(otherSecret(), got!)).toBe(false);
    expect(await h.waitForDelivery(hook.id, (d) => d.status === 'DELIVERED', 'the ping DELIVERED')).toMatchObject({ id: res.body.id, attempts: 1, lastStatusCode: 200 });
    // Not part of the session's event log.
    expect((await h.events('ping')).body.items).toEqual([]);

    const gr = await receiver();
    const global = await h.createHook(null, { url: gr.url, events: ['webhook.test'] });
    try {
      const gres = await h.ping(null, global.id);
      expect(gres.status).toBe(202);
      const [gping] = await waitFor(() => (gr.delivered().length ? gr.delivered() : null), 'the global ping');
      expect(gping!.json).toMatchObject({ id: gres.body.eventId, event: 'webhook.test', session: null, sequence: 0 });
      expect(gping!.headers['x-zaphub-session']).toBe('');
      expect(verifies(global.secret, gping!)).toBe(true);
    } finally {
      expect((await h.removeHook(null, global.id)).status).toBe(204);
    }
  });

  it('delivers 2,000 events of one session to one endpoint: sequences 1..2000, each exactly once as a 2xx', async () => {
    const total = 2000;
    await h.createSession('bulk');
    const r = await receiver();
    const hook = await h.createHook('bulk', { url: r.url });

    // 200 transactions of 10 events by 2 concurrent writers: sequences are taken under contention (the writers
    // queue on the session's counter row). More writers would be no faster (they serialize on that lock) and
    // would hold pool connections the delivery workers need.
    const batches = Array.from({ length: total / 10 }, (_, b) =>
      Array.from({ length: 10 }, (_, i) => ({ type: 'session.status', data: { status: 'WORKING', previous: 'WORKING', lastError: null, n: b * 10 + i } })),
    );
    let next = 0;
    const writer = async () => {
      while (next < batches.length) await h.append('bulk', batches[next++]!);
    };
    await Promise.all([writer(), writer()]);

    await waitFor(() => r.delivered().length >= total, () => `${total} deliveries (got ${r.delivered().length})`, 60000, 100);
    await h.settled(`webhookId=${hook.id}`);
    const seen = new Map<number, number>();
    for (const q of r.delivered()) seen.set(q.json.sequence, (seen.get(q.json.sequence) ?? 0) + 1);
    const rows = await h.allDeliveries(`webhookId=${hook.id}`);
    // One object, so a failure says what went wrong: duplicates, gaps, non-2xx answers or rows not DELIVERED once.
    expect({
      delivered: r.delivered().length,
      requests: r.requests.length,
      duplicates: [...seen].filter(([, n]) => n > 1).map(([sequence]) => sequence),
      missing: Array.from({ length: total }, (_, i) => i + 1).filter((sequence) => !seen.has(sequence)),
      outOfRange: [...seen.keys()].filter((sequence) => sequence < 1 || sequence > total),
      rows: rows.length,
      rowsNotDeliveredOnce: rows.filter((d) => d.status !== 'DELIVERED' || d.attempts !== 1).map((d) => `${d.status}/${d.attempts}/${d.lastError}`),
    }).toEqual({ delivered: total, requests: total, duplicates: [], missing: [], outOfRange: [], rows: total, rowsNotDeliveredOnce: [] });
  });

  it('answers 400 naming the field for bad filters, ids and bodies, 404 for an unknown delivery, and changes nothing', async () => {
    await h.createSession('bad');
    const r = await receiver();
    const hook = await h.createHook('bad', { url: r.url });
    await h.status('bad');
    await h.waitForDelivery(hook.id, (d) => d.status === 'DELIVERED', 'the delivery');
    const snapshot = () =>
      Promise.all([
        query(t.env.databaseUrl, 'SELECT * FROM "WebhookDelivery" ORDER BY seq'),
        query(t.env.databaseUrl, 'SELECT id, status, url, events, secret, "updatedAt" FROM "Webhook" ORDER BY id'),
      ]);
    const before = await snapshot();

    for (const [qs, field] of [
      ['?status=BOGUS', 'status'],
      ['?status=delivered', 'status'],
      ['?limit=0', 'limit'],
      ['?limit=1001', 'limit'],
      ['?limit=abc', 'limit'],
      ['?cursor=abc', 'cursor'],
      ['?cursor=0', 'cursor'],
      ['?cursor=-5', 'cursor'],
      ['?webhookId=nope', 'webhookId'],
      ['?session=bad%20name', 'session'],
    ] as const) {
      expectBadRequest(await h.deliveries(qs), field, `GET deliveries${qs}`);
    }
    const unknownSession = await h.deliveries('?session=nobody');
    expect(unknownSession.status).toBe(404);

    const unknown = await h.redeliver(randomUUID());
    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatchObject({ statusCode: 404, error: 'Not Found' });
    expectBadRequest(await h.redeliver('not-a-uuid'), 'id', 'redeliver not-a-uuid');

    for (const session of ['bad', null]) {
      const id = session ? hook.id : randomUUID();
      expectBadRequest(await h.patchHook(session, id, { status: 'x' }), 'status', `PATCH ${session} {status: x}`);
      expectBadRequest(await h.patchHook(session, id, {}), 'status', `PATCH ${session} {}`);
      expectBadRequest(await h.patchHook(session, id, { status: 'active' }), 'status', `PATCH ${session} {status: active}`);
      expectBadRequest(await h.patchHook(session, 'not-a-uuid', { status: 'ACTIVE' }), 'id', `PATCH ${session} not-a-uuid`);
    }
    expect((await h.patchHook('bad', randomUUID(), { status: 'DISABLED' })).status).toBe(404);
    expect((await h.patchHook(null, hook.id, { status: 'DISABLED' })).status).toBe(404); // a session's endpoint is not a global one

    expect(await snapshot()).toEqual(before);
    expect(((await h.listHooks('bad')).body as Array<{ status: string }>)[0]!.status).toBe('ACTIVE');
  });

  it('answers 400 naming cursor for a cursor beyond a 64-bit sequence, not 500', async () => {
    // The DTO accepts up to 20 digits; seq is a PostgreSQL bigint (at most 9223372036854775807).
    expect((await h.deliveries('?cursor=9223372036854775807')).status).toBe(200);
    for (const cursor of ['9223372036854775808', '99999999999999999999']) {
      expectBadRequest(await h.deliveries(`?cursor=${cursor}`), 'cursor', `cursor=${cursor}`);
    }
  });

  it('pages deliveries newest first with a cursor, without duplicates or gaps', async () => {
    await h.createSession('pages');
    const r = await receiver();
    const a = await h.createHook('pages', { url: r.url });
    const b = await h.createHook('pages', { url: r.url, events: ['session.qr'] });
    const appended = [];
    for (let i = 0; i < 5; i++) {
      appended.push(...(await h.status('pages', 'WORKING')));
      if (i % 2 === 0) appended.push(...(await h.append('pages', [{ type: 'session.qr', data: { value: `q${i}`, expiresAt: new Date().toISOString() } }])));
    }
    // 8 events: 8 deliveries to a, 3 to b: 11 in all.
    await waitFor(() => r.delivered().length >= 11, 'all 11 deliveries');
    await h.settled('session=pages'); // rows stop changing, so pages and the full list compare equal

    const walk = async (qs: string) => {
      const pages: DeliveryBody[][] = [];
      let cursor: string | null = null;
      do {
        const res = await h.deliveries(`?${qs}&limit=2${cursor ? `&cursor=${cursor}` : ''}`);
        expect(res.status).toBe(200);
        const page = res.body as DeliveryPage;
        expect(page.items.length).toBeLessThanOrEqual(2);
        pages.push(page.items);
        if (page.nextCursor !== null) expect(page.items).toHaveLength(2);
        cursor = page.nextCursor;
        expect(pages.length).toBeLessThan(20);
      } while (cursor);
      return pages;
    };

    const pages = await walk('session=pages');
    expect(pages.map((p) => p.length)).toEqual([2, 2, 2, 2, 2, 1]);
    const walked = pages.flat();
    const full = ((await h.deliveries('?session=pages&limit=1000')).body as DeliveryPage).items;
    expect(walked).toEqual(full);
    expect(new Set(walked.map((d) => d.id)).size).toBe(11);
    // Newest first: deliveries were created with their events, so the event order reversed (b's before a's for one event).
    const seqOf = new Map(appended.map((e) => [e.id, e.sequence]));
    const order = walked.map((d) => seqOf.get(d.eventId!)!);
    expect(order).toEqual([...order].sort((x, y) => y - x));
    expect(new Set(walked.map((d) => d.eventId))).toEqual(new Set(appended.map((e) => e.id)));
    const times = walked.map((d) => Date.parse(d.createdAt));
    expect(times).toEqual([...times].sort((x, y) => y - x));

    // An exact multiple of the limit: the last full page still has a cursor, the next one is empty.
    const bPages = await walk(`webhookId=${b.id}`);
    expect(bPages.map((p) => p.length)).toEqual([2, 1]);
    const aPages = await walk(`webhookId=${a.id}`);
    expect(aPages.map((p) => p.length)).toEqual([2, 2, 2, 2, 0]);
    expect(aPages.flat().map((d) => d.id)).toEqual(full.filter((d) => d.webhookId === a.id).map((d) => d.id));
  });
});
