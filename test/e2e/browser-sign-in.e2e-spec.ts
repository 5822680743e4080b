import request from 'supertest';
import { startTestApp, type TestApp } from '../helpers/test-app';
import { waitFor } from '../helpers/test-env';

/**
 * Browser sign-in (CONTRACT.md "Dashboard and live events"): POST
 * /api/auth/session trades the API key for an HttpOnly, SameSite=Strict,
 * signed, expiring cookie that /api and /admin/queues accept like X-Api-Key;
 * cookie state changes need X-Requested-With; DELETE revokes it on the server.
 */
describe('browser sign-in', () => {
  let t: TestApp;

  const signIn = (body: Record<string, unknown> | undefined = { apiKey: t.apiKey }) => t.http.post('/api/auth/session').send(body);
  /** The `name=value` pair of a Set-Cookie answer (what a browser sends back). */
  const cookieOf = (res: request.Response): string => {
    const header = ([] as string[]).concat(res.headers['set-cookie'] ?? [])[0];
    if (!header) throw new Error(`no Set-Cookie in ${res.status} ${JSON.stringify(res.body)}`);
    return header.split(';')[0]!;
  };

  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t?.close();
  });

  it('refuses a missing or wrong key with 401 and sets no cookie', async () => {
    for (const body of [undefined, {}, { apiKey: `${t.apiKey}x` }, { apiKey: '' }, { apiKey: t.apiKey.toUpperCase() }]) {
      const res = body === undefined ? await t.http.post('/api/auth/session') : await signIn(body);
      expect({ body, status: res.status }).toEqual({ body, status: 401 });
      expect(res.body).toMatchObject({ statusCode: 401, error: 'Unauthorized', requestId: expect.any(String) });
      expect(res.headers['set-cookie']).toBeUndefined();
    }
    expect((await signIn({ apiKey: 42 })).status).toBe(400);
    expect((await signIn({ apiKey: t.apiKey, extra: 1 })).status).toBe(400);
  });

  it('sets an HttpOnly, SameSite=Strict, expiring cookie, Secure unless plain HTTP on loopback', async () => {
    const res = await signIn();
    expect(res.status).toBe(204);
    const header = ([] as string[]).concat(res.headers['set-cookie'] ?? [])[0]!;
    const attributes = header.split('; ').slice(1);
    expect(header).toMatch(/^zaphub_session=v1\.[A-Za-z0-9_-]{43}\.\d+\.[A-Za-z0-9_-]{43};/);
    expect(attributes).toEqual(expect.arrayContaining(['Path=/', 'Max-Age=43200', 'HttpOnly', 'SameSite=Strict']));
    expect(attributes.some((a) => a.startsWith('Expires='))).toBe(true);
    // This test talks plain HTTP to 127.0.0.1: a Secure cookie would never come back.
    expect(attributes).not.toContain('Secure');
    // Behind a TLS-terminating proxy (X-Forwarded-Proto: https) or from a remote client: Secure.
    const proxied = await t.http.post('/api/auth/session').set('X-Forwarded-Proto', 'https').send({ apiKey: t.apiKey });
    expect(([] as string[]).concat(proxied.headers['set-cookie'] ?? [])[0]).toMatch(/; Secure/);
    const remote = await t.http.post('/api/auth/session').set('X-Forwarded-For', '203.0.113.7').send({ apiKey: t.apiKey });
    expect(([] as string[]).concat(remote.headers['set-cookie'] ?? [])[0]).toMatch(/; Secure/);
    // The key may come as the X-Api-Key header instead of the body.
    expect((await t.http.post('/api/auth/session').set('X-Api-Key', t.apiKey)).status).toBe(204);
  });

  it('is accepted like X-Api-Key on /api reads, and on state changes only with X-Requested-With', async () => {
    const cookie = cookieOf(await signIn());
    const list = await t.http.get('/api/sessions').set('Cookie', cookie);
    expect(list.status).toBe(200);

    const forged = await t.http.post('/api/sessions').set('Cookie', cookie).send({ name: 'csrf' });
    expect(forged.status).toBe(403);
    expect(forged.body).toMatchObject({ statusCode: 403, error: 'Forbidden', message: expect.stringMatching(/X-Requested-With/), requestId: expect.any(String) });
    expect((await t.http.get('/api/sessions/csrf').set('Cookie', cookie)).status).toBe(404);

    const created = await t.http.post('/api/sessions').set('Cookie', cookie).set('X-Requested-With', 'XMLHttpRequest').send({ name: 'csrf', start: false });
    expect(created.status).toBe(201);
    const deleted = await t.http.delete('/api/sessions/csrf').set('Cookie', cookie);
    expect(deleted.status).toBe(403);
    expect((await t.http.delete('/api/sessions/csrf').set('Cookie', cookie).set('X-Requested-With', 'fetch')).status).toBe(204);
  });

  it('refuses a tampered cookie, and a wrong X-Api-Key even beside a valid cookie', async () => {
    const cookie = cookieOf(await signIn());
    const [name, value] = cookie.split('=') as [string, string];
    const parts = value.split('.');
    const later = `${name}=${[parts[0], parts[1], String(Number(parts[2]) + 3600), parts[3]].join('.')}`;
    const otherId = `${name}=${[parts[0], 'A'.repeat(43), parts[2], parts[3]].join('.')}`;
    for (const bad of [later, otherId, `${name}=garbage`, `${cookie}x`]) {
      const res = await t.http.get('/api/sessions').set('Cookie', bad);
      expect({ bad, status: res.status }).toEqual({ bad, status: 401 });
    }
    expect((await t.http.get('/api/sessions').set('Cookie', cookie).set('X-Api-Key', 'wrong-key-0123456789')).status).toBe(401);
    // Another cookie of the same name with an unrelated value does not confuse the check.
    expect((await t.http.get('/api/sessions').set('Cookie', `other=1; ${cookie}`)).status).toBe(200);
  });

  it('opens /admin/queues (its page and its API) with the cookie, not without', async () => {
    const cookie = cookieOf(await signIn());
    expect((await t.http.get('/admin/queues')).status).toBe(401);
    const page = await t.http.get('/admin/queues').set('Cookie', cookie);
    expect(page.status).toBe(200);
    expect(page.text).toContain('<');
    expect((await t.http.get('/admin/queues/api/queues').set('Cookie', cookie)).status).toBe(200);
    expect((await t.http.get('/admin/queues/api/queues').set('Cookie', `${cookie}x`)).status).toBe(401);
    // A state change by cookie needs X-Requested-With or the page's own Origin.
    const clean = (req: request.Test) => req.set('Cookie', cookie).send();
    expect((await clean(t.http.put('/admin/queues/api/queues/session-init/clean/completed'))).status).toBe(403);
    expect((await clean(t.http.put('/admin/queues/api/queues/session-init/clean/completed').set('Origin', 'https://evil.example'))).status).toBe(403);
    expect((await clean(t.http.put('/admin/queues/api/queues/session-init/clean/completed').set('Origin', t.baseUrl))).status).not.toBe(403);
    expect((await clean(t.http.put('/admin/queues/api/queues/session-init/clean/completed').set('X-Requested-With', 'XMLHttpRequest'))).status).not.toBe(403);
  });

  it('signs out: the cookie is revoked on the server and cleared in the browser', async () => {
    const cookie = cookieOf(await signIn());
    const other = cookieOf(await signIn());
    expect((await t.http.delete('/api/auth/session').set('Cookie', cookie)).status).toBe(403);
    const out = await t.http.delete('/api/auth/session').set('Cookie', cookie).set('X-Requested-With', 'XMLHttpRequest');
    expect(out.status).toBe(204);
    expect(([] as string[]).concat(out.headers['set-cookie'] ?? [])[0]).toMatch(/^zaphub_session=; Path=\/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; SameSite=Strict/);
    // The old value, kept by a client that ignored the clearing, is now useless everywhere.
    expect((await t.http.get('/api/sessions').set('Cookie', cookie)).status).toBe(401);
    expect((await t.http.get('/admin/queues').set('Cookie', cookie)).status).toBe(401);
    expect((await t.http.delete('/api/auth/session').set('Cookie', cookie).set('X-Requested-With', 'x')).status).toBe(401);
    expect((await t.http.delete('/api/auth/session').set('Cookie', cookie).set('X-Api-Key', t.apiKey)).status).toBe(401);
    // Without a cookie there is nothing to sign out, key or not.
    expect((await t.http.delete('/api/auth/session').set('X-Api-Key', t.apiKey)).status).toBe(401);
    expect((await t.http.delete('/api/auth/session')).status).toBe(401);
    // Other browser sessions stay signed in.
    expect((await t.http.get('/api/sessions').set('Cookie', other)).status).toBe(200);
  });

  it('expires after AUTH_SESSION_TTL_SECONDS', async () => {
    const short = await startTestApp({ AUTH_SESSION_TTL_SECONDS: '1' }, t.env);
    try {
      const res = await short.http.post('/api/auth/session').send({ apiKey: t.apiKey });
      expect(([] as string[]).concat(res.headers['set-cookie'] ?? [])[0]).toMatch(/Max-Age=1;/);
      const cookie = cookieOf(res);
      const issuedAt = Date.now();
      expect((await short.http.get('/api/sessions').set('Cookie', cookie)).status).toBe(200);
      await waitFor(async () => (await short.http.get('/api/sessions').set('Cookie', cookie)).status === 401, 'the cookie to expire', 10_000, 100);
      expect(Date.now() - issuedAt).toBeLessThan(5000);
    } finally {
      await short.close();
    }
  });
});
