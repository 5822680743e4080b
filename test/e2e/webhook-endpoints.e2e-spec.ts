import { randomBytes, randomUUID } from 'node:crypto';
import { WebhookSecretCipher } from '../../src/modules/webhooks/webhook-secret-cipher';
import { query } from '../helpers/db-query';
import { startTestApp, type TestApp } from '../helpers/test-app';
import { createTestEnv, type TestEnv } from '../helpers/test-env';

interface WebhookBody {
  id: string;
  url: string;
  events: string[];
  status: string;
  createdAt: string;
  session: string | null;
  source: string;
  secretRotatedAt: string | null;
  previousSecretExpiresAt: string | null;
  secret?: string;
}

interface StoredRow {
  secret: string;
  previousSecret: string | null;
  previousSecretExpiresAt: Date | null;
  sessionId: string | null;
  managedBy: string | null;
}

const GENERATED_SECRET = /^whsec_[A-Za-z0-9+/]{43}=$/;
/** A public address literal: accepted with the guard on, and no DNS involved. */
const PUBLIC_URL = 'http://93.184.216.34/zaphub';
const secretOf = (bytes: number) => `whsec_${randomBytes(bytes).toString('base64')}`;

function webhooksApi(t: TestApp) {
  const key = <R extends { set(name: string, value: string): R }>(r: R) => r.set('X-Api-Key', t.apiKey);
  return {
    create: (session: string | null, body: unknown) => key(t.http.post(session ? `/api/sessions/${session}/webhooks` : '/api/webhooks')).send(body as object),
    list: (session: string | null) => key(t.http.get(session ? `/api/sessions/${session}/webhooks` : '/api/webhooks')),
    remove: (session: string | null, id: string) => key(t.http.delete(session ? `/api/sessions/${session}/webhooks/${id}` : `/api/webhooks/${id}`)),
    rotate: (session: string, id: string, body: unknown = {}) => key(t.http.post(`/api/sessions/${session}/webhooks/${id}/rotate-secret`)).send(body as object),
    session: (name: string) => key(t.http.post('/api/sessions')).send({ name, start: false }),
  };
}

async function storedRow(t: TestApp, id: string): Promise<StoredRow | undefined> {
  const [row] = await query<StoredRow>(
    t.env.databaseUrl,
    'SELECT secret, "previousSecret", "previousSecretExpiresAt", "sessionId", "managedBy" FROM "Webhook" WHERE id = $1',
    [id],
  );
  return row;
}

function expectBadRequest(res: { status: number; body: Record<string, unknown> }, field: string, what: string) {
  if (res.status !== 400) throw new Error(`${what}: expected 400, got ${res.status} ${JSON.stringify(res.body)}`);
  expect(res.body).toMatchObject({ statusCode: 400, error: 'Bad Request', requestId: expect.any(String) });
  expect(res.body.details).toEqual(expect.arrayContaining([expect.objectContaining({ field })]));
}

describe('webhook endpoints (WEBHOOK_ALLOW_PRIVATE=false, AUTH_STATE_KEY set)', () => {
  const authStateKey = randomBytes(32).toString('base64');
  const cipher = WebhookSecretCipher.fromConfig(authStateKey);
  let t: TestApp;
  let api: ReturnType<typeof webhooksApi>;

  beforeAll(async () => {
    t = await startTestApp({ AUTH_STATE_KEY: authStateKey, WEBHOOK_ALLOW_PRIVATE: 'false' });
    api = webhooksApi(t);
    for (const name of ['alpha', 'beta']) expect((await api.session(name)).status).toBe(201);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('creates a session endpoint with a generated secret, shown once, stored encrypted', async () => {
    const res = await api.create('alpha', { url: PUBLIC_URL });
    expect(res.status).toBe(201);
    const body = res.body as WebhookBody;
    expect(body).toEqual({
      id: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/),
      url: PUBLIC_URL,
      events: ['*'],
      status: 'ACTIVE',
      createdAt: expect.any(String),
      session: 'alpha',
      source: 'api',
      secretRotatedAt: null,
      previousSecretExpiresAt: null,
      secret: expect.stringMatching(GENERATED_SECRET),
    });
    expect(Buffer.from(body.secret!.slice('whsec_'.length), 'base64')).toHaveLength(32);

    const row = (await storedRow(t, body.id))!;
    expect(row.secret.startsWith(cipher.currentPrefix!)).toBe(true);
    expect(row.secret).not.toContain(body.secret!.slice(6));
    expect(cipher.decrypt(row.secret, body.id)).toBe(body.secret);
  });

  it('keeps a given secret and normalizes the event filter', async () => {
    const secret = secretOf(48);
    const res = await api.create('alpha', { url: 'https://93.184.216.34:8443/x?y=1', events: ['message.sent', 'session.status', 'message.sent'], secret });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ events: ['message.sent', 'session.status'], secret });
    expect(cipher.decrypt((await storedRow(t, res.body.id as string))!.secret, res.body.id as string)).toBe(secret);
    const all = await api.create('alpha', { url: PUBLIC_URL, events: ['message.read', '*'] });
    expect(all.body.events).toEqual(['*']);
  });

  it('lists the session endpoints without any secret', async () => {
    const created = await api.create('beta', { url: PUBLIC_URL, events: ['message.received'] });
    expect(created.status).toBe(201);
    const res = await api.list('beta');
    expect(res.status).toBe(200);
    const { secret: _secret, ...view } = created.body as WebhookBody;
    expect(res.body).toEqual([view]);
    expect(JSON.stringify(res.body)).not.toContain(created.body.secret as string);
    expect(JSON.stringify((await api.list('alpha')).body)).not.toMatch(/whsec_|enc:v2/);
    for (const item of (await api.list('alpha')).body as WebhookBody[]) expect(Object.keys(item)).not.toContain('secret');
  });

  it('deletes only an endpoint of that session: 404 for another session, a global one or a random id; 400 for a malformed id', async () => {
    const mine = (await api.create('beta', { url: PUBLIC_URL })).body as WebhookBody;
    const theirs = (await api.create('alpha', { url: PUBLIC_URL })).body as WebhookBody;
    const global = (await api.create(null, { url: PUBLIC_URL })).body as WebhookBody;

    expect((await api.remove('beta', theirs.id)).status).toBe(404);
    expect((await api.remove('beta', global.id)).status).toBe(404);
    expect((await api.remove('beta', randomUUID())).status).toBe(404);
    expectBadRequest(await api.remove('beta', 'not-a-uuid'), 'id', 'malformed id');
    expect(await storedRow(t, theirs.id)).toBeDefined();
    expect(await storedRow(t, global.id)).toBeDefined();

    expect((await api.remove('beta', mine.id)).status).toBe(204);
    expect(await storedRow(t, mine.id)).toBeUndefined();
    expect((await api.remove('beta', mine.id)).status).toBe(404);
    expect(((await api.list('beta')).body as WebhookBody[]).map((w) => w.id)).not.toContain(mine.id);
  });

  it('manages global endpoints apart from session ones', async () => {
    const created = await api.create(null, { url: PUBLIC_URL, events: ['session.status'] });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ session: null, source: 'api', events: ['session.status'], secret: expect.stringMatching(GENERATED_SECRET) });
    expect((await storedRow(t, created.body.id as string))!.sessionId).toBeNull();

    const listed = (await api.list(null)).body as WebhookBody[];
    expect(listed.map((w) => w.id)).toContain(created.body.id);
    expect(listed.every((w) => w.session === null && !('secret' in w))).toBe(true);
    const sessionOne = ((await api.list('alpha')).body as WebhookBody[])[0]!;
    expect(listed.map((w) => w.id)).not.toContain(sessionOne.id);
    expect((await api.remove(null, sessionOne.id)).status).toBe(404);

    expect((await api.remove(null, created.body.id as string)).status).toBe(204);
    expect((await api.remove(null, created.body.id as string)).status).toBe(404);
    expectBadRequest(await api.remove(null, '12345'), 'id', 'malformed global id');
  });

  it('rotates a secret: the new one differs, the old one is kept, encrypted, until now + 24 h', async () => {
    const created = (await api.create('alpha', { url: PUBLIC_URL })).body as WebhookBody;
    const before = Date.now();
    const res = await api.rotate('alpha', created.id);
    const after = Date.now();
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ secret: expect.stringMatching(GENERATED_SECRET), previousSecretExpiresAt: expect.any(String) });
    expect(res.body.secret).not.toBe(created.secret);

    const row = (await storedRow(t, created.id))!;
    expect(cipher.decrypt(row.secret, created.id)).toBe(res.body.secret);
    expect(cipher.decrypt(row.previousSecret!, created.id)).toBe(created.secret);
    for (const stored of [row.secret, row.previousSecret!]) {
      expect(stored.startsWith('enc:v2:')).toBe(true);
      expect(stored).not.toContain('whsec_');
    }
    const expires = row.previousSecretExpiresAt!.getTime();
    expect(expires).toBeGreaterThanOrEqual(before + 24 * 3_600_000 - 1000);
    expect(expires).toBeLessThanOrEqual(after + 24 * 3_600_000 + 1000);
    expect(new Date(res.body.previousSecretExpiresAt as string).getTime()).toBe(expires);

    const view = ((await api.list('alpha')).body as WebhookBody[]).find((w) => w.id === created.id)!;
    expect(view.previousSecretExpiresAt).toBe(res.body.previousSecretExpiresAt);
    expect(view.secretRotatedAt).toEqual(expect.any(String));

    const given = secretOf(32);
    expect((await api.rotate('alpha', created.id, { secret: given })).body.secret).toBe(given);
    const again = (await storedRow(t, created.id))!;
    expect(cipher.decrypt(again.previousSecret!, created.id)).toBe(res.body.secret);

    expect((await api.rotate('beta', created.id)).status).toBe(404);
    expect((await api.rotate('alpha', randomUUID())).status).toBe(404);
    expectBadRequest(await api.rotate('alpha', created.id, { secret: 'whsec_short' }), 'secret', 'bad rotated secret');
    expectBadRequest(await api.rotate('alpha', created.id, { other: 1 }), 'other', 'unknown rotate field');
  });

  it('answers 404 for an unknown session on every route', async () => {
    const id = randomUUID();
    for (const res of [
      await api.create('nobody', { url: PUBLIC_URL }),
      await api.list('nobody'),
      await api.remove('nobody', id),
      await api.rotate('nobody', id),
    ]) {
      expect(res.status).toBe(404);
      expect(res.body).toMatchObject({ statusCode: 404, error: 'Not Found', message: expect.stringContaining('nobody') });
    }
  });

  it.each([
    'http://127.0.0.1/hook',
    'http://localhost/hook',
    'http://hooks.localhost:8080/hook',
    'http://10.0.0.1/hook',
    'http://172.16.0.1/hook',
    'http://192.168.1.1/hook',
    'http://169.254.169.254/latest/meta-data/',
    'http://100.64.0.1/hook',
    'http://[::1]/hook',
    'http://[fd00::1]/hook',
    'http://[fe80::1]/hook',
    'http://[::ffff:127.0.0.1]/hook',
    'http://0.0.0.0/hook',
    'http://224.0.0.1/hook',
    'http://2130706433/hook',
    'ftp://example.com/hook',
    'http://user:pass@example.com/hook',
    'http://zaphub-no-such-host.invalid/hook',
  ])('refuses %s with 400 naming url, and stores nothing', async (url) => {
    const before = (await query(t.env.databaseUrl, 'SELECT count(*)::int AS n FROM "Webhook"'))[0]!.n;
    for (const session of ['alpha', null]) {
      const res = await api.create(session, { url });
      expectBadRequest(res, 'url', url);
      expect(res.body.message).toMatch(/^(Invalid request: url|url (must|cannot))/);
    }
    expect((await query(t.env.databaseUrl, 'SELECT count(*)::int AS n FROM "Webhook"'))[0]!.n).toBe(before);
  });

  it('says why: the address class, or that the host cannot be resolved', async () => {
    expect((await api.create('alpha', { url: 'http://169.254.169.254/' })).body.message).toBe(
      'url must not point to 169.254.169.254: it is a link-local (where cloud metadata services live) address (WEBHOOK_ALLOW_PRIVATE=true allows it)',
    );
    expect((await api.create('alpha', { url: 'http://localhost:3000/' })).body.message).toMatch(/^url must not point to localhost: it is a loopback name/);
    expect((await api.create('alpha', { url: 'http://zaphub-no-such-host.invalid/' })).body.message).toBe(
      'url cannot be resolved (no address for zaphub-no-such-host.invalid)',
    );
  });

  it.each<[string, unknown, string]>([
    ['an unknown field', { url: PUBLIC_URL, headers: { a: 1 } }, 'headers'],
    ['a missing url', { events: ['*'] }, 'url'],
    ['a url that is not a string', { url: 42 }, 'url'],
    ['a url over 2048 characters', { url: `http://93.184.216.34/${'a'.repeat(2040)}` }, 'url'],
    ['events that are not an array', { url: PUBLIC_URL, events: 'message.sent' }, 'events'],
    ['events as an object', { url: PUBLIC_URL, events: { a: 1 } }, 'events'],
    ['an empty event list', { url: PUBLIC_URL, events: [] }, 'events'],
    ['an unknown event name', { url: PUBLIC_URL, events: ['message.sent', 'message.deleted'] }, 'events'],
    ['an event that is not a string', { url: PUBLIC_URL, events: [1] }, 'events'],
    ['a secret without the whsec_ prefix', { url: PUBLIC_URL, secret: randomBytes(32).toString('base64') }, 'secret'],
    ['a secret of 16 bytes', { url: PUBLIC_URL, secret: secretOf(16) }, 'secret'],
    ['a secret of 65 bytes', { url: PUBLIC_URL, secret: secretOf(65) }, 'secret'],
    ['a secret that is not base64', { url: PUBLIC_URL, secret: 'whsec_not base64 at all!!!!!!!!!!!!!!!!' }, 'secret'],
    ['a null secret', { url: PUBLIC_URL, secret: null }, 'secret'],
  ])('answers 400 naming the field for %s', async (_label, body, field) => {
    const res = await api.create('alpha', body);
    expectBadRequest(res, field, _label);
    expect(JSON.stringify(res.body)).not.toMatch(/whsec_[A-Za-z0-9+/]{20}/); // a refused secret is not echoed
  });

  it('answers 400 for a body that is not an object', async () => {
    expect((await api.create('alpha', [])).status).toBe(400);
  });
});

describe('webhook endpoints with WEBHOOK_ALLOW_PRIVATE=true and no AUTH_STATE_KEY', () => {
  let t: TestApp;
  let api: ReturnType<typeof webhooksApi>;

  beforeAll(async () => {
    t = await startTestApp({ WEBHOOK_ALLOW_PRIVATE: 'true' });
    api = webhooksApi(t);
    expect((await api.session('gamma')).status).toBe(201);
  });
  afterAll(async () => {
    await t?.close();
  });

  it.each([
    'http://127.0.0.1:9/hook',
    'http://localhost:9/hook',
    'http://10.0.0.1/hook',
    'http://169.254.169.254/',
    'http://100.64.0.1/',
    'http://[::1]:9/',
    'http://[fd00::1]/',
    'http://[::ffff:127.0.0.1]/',
    'http://zaphub-no-such-host.invalid/',
  ])('accepts %s', async (url) => {
    const res = await api.create('gamma', { url });
    expect({ url, status: res.status }).toEqual({ url, status: 201 });
  });

  it('still refuses other schemes and credentials', async () => {
    expectBadRequest(await api.create('gamma', { url: 'ftp://127.0.0.1/' }), 'url', 'ftp');
    expectBadRequest(await api.create('gamma', { url: 'http://u:p@127.0.0.1/' }), 'url', 'credentials');
  });

  it('stores the secret in plain text without AUTH_STATE_KEY', async () => {
    const res = await api.create(null, { url: 'http://127.0.0.1:9/hook' });
    expect((await storedRow(t, res.body.id as string))!.secret).toBe(res.body.secret);
  });
});

describe('the global endpoint from WEBHOOK_URL (two replicas booting on one database)', () => {
  const secret = secretOf(32);
  let env: TestEnv;
  const apps: TestApp[] = [];

  beforeAll(async () => {
    env = await createTestEnv({
      WEBHOOK_URL: 'http://127.0.0.1:9/zaphub',
      WEBHOOK_EVENTS: 'message.received,session.status',
      WEBHOOK_SECRET: secret,
      WEBHOOK_ALLOW_PRIVATE: 'true',
      AUTH_STATE_KEY: randomBytes(32).toString('hex'),
    });
    apps.push(...(await Promise.all([startTestApp({}, env), startTestApp({}, env)])));
  });
  afterAll(async () => {
    for (const app of apps) await app.close();
    await env?.cleanup();
  });

  it('exists exactly once, with the configured URL and events and no secret in sight', async () => {
    const rows = await query<StoredRow & { id: string; url: string; events: string[] }>(env.databaseUrl, 'SELECT * FROM "Webhook"');
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ managedBy: 'env', sessionId: null, url: 'http://127.0.0.1:9/zaphub', events: ['message.received', 'session.status'] });
    expect(rows[0]!.secret).not.toContain(secret.slice(6));
    expect(WebhookSecretCipher.fromConfig(env.config.AUTH_STATE_KEY).decrypt(rows[0]!.secret, rows[0]!.id)).toBe(secret);

    for (const app of apps) {
      const listed = await app.http.get('/api/webhooks').set('X-Api-Key', app.apiKey);
      expect(listed.body).toEqual([
        expect.objectContaining({ id: rows[0]!.id, url: 'http://127.0.0.1:9/zaphub', events: ['message.received', 'session.status'], source: 'env', session: null, status: 'ACTIVE' }),
      ]);
      expect(JSON.stringify(listed.body)).not.toContain(secret);
    }
  });

  it('cannot be deleted through the API (it would come back at the next boot)', async () => {
    const [row] = await query<{ id: string }>(env.databaseUrl, 'SELECT id FROM "Webhook" WHERE "managedBy" = $1', ['env']);
    const res = await apps[0]!.http.delete(`/api/webhooks/${row!.id}`).set('X-Api-Key', apps[0]!.apiKey);
    expect(res.status).toBe(409);
    expect(res.body.message).toMatch(/WEBHOOK_URL/);
  });

  it('is counted by zaphub_webhook_endpoints{state} with every other endpoint, cluster-wide', async () => {
    const [a, b] = apps as [TestApp, TestApp];
    const created = await a.http.post('/api/webhooks').set('X-Api-Key', a.apiKey).send({ url: 'http://127.0.0.1:9/other' });
    expect(created.status).toBe(201);
    await query(env.databaseUrl, 'INSERT INTO "Webhook" (id, url, events, status, secret, "updatedAt") VALUES ($1, $2, $3, $4, $5, now())', [
      randomUUID(),
      'http://127.0.0.1:9/gone',
      ['*'],
      'DISABLED',
      secretOf(32),
    ]);
    const metric = (text: string, state: string) => Number(new RegExp(`^zaphub_webhook_endpoints\\{state="${state}"\\} (\\d+)$`, 'm').exec(text)?.[1]);
    // b changed nothing itself and has not been scraped yet: its first scrape reads PostgreSQL.
    const scrape = (await b.http.get('/metrics')).text;
    expect(scrape).toContain('# TYPE zaphub_webhook_endpoints gauge');
    expect({ active: metric(scrape, 'ACTIVE'), disabled: metric(scrape, 'DISABLED') }).toEqual({ active: 2, disabled: 1 });
    // a created one itself: counted again at once.
    expect(metric((await a.http.get('/metrics')).text, 'ACTIVE')).toBe(2);
  });
});
