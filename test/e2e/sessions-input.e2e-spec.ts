import { query } from '../helpers/db-query';
import { sessionsApi } from '../helpers/sessions-api';
import { startTestApp, type TestApp } from '../helpers/test-app';

/** Bad input on session routes: a clear 4xx JSON error, and nothing changes. */
describe('session routes reject bad input', () => {
  let t: TestApp;
  let api: ReturnType<typeof sessionsApi>;
  const key = () => t.apiKey;
  const count = async () => Number((await query<{ n: string }>(t.env.databaseUrl, 'SELECT count(*) AS n FROM "Session"'))[0].n);

  beforeAll(async () => {
    t = await startTestApp({ SANDBOX: 'true', STATUS_DEBOUNCE_MS: '0' });
    api = sessionsApi(t);
  });
  afterAll(async () => {
    await t?.close();
  });

  it.each([
    [{ name: 'has space' }, 'name'],
    [{ name: '' }, 'name'],
    [{ name: 'x'.repeat(65) }, 'name'],
    [{ name: 'ok', start: 'yes' }, 'start'],
    [{ name: 'ok', config: { rateLimitPerMinute: 0 } }, 'config.rateLimitPerMinute'],
    [{ name: 'ok', config: { rateLimitPerMinute: 100001 } }, 'config.rateLimitPerMinute'],
    [{ name: 'ok', config: { humanize: { minTypingMs: 5000, maxTypingMs: 100 } } }, 'config.humanize.minTypingMs'],
    [{ name: 'ok', config: { humanize: { typingMsPerChar: -1 } } }, 'config.humanize.typingMsPerChar'],
    [{ name: 'ok', config: { webhooks: [{ url: 'not a url' }] } }, 'config.webhooks.0.url'],
    [{ name: 'ok', surprise: 1 }, 'surprise'],
  ])('POST /api/sessions %j → 400 naming %s', async (body, field) => {
    const before = await count();
    const res = await t.http.post('/api/sessions').set('X-Api-Key', key()).send(body);
    expect(res.status).toBe(400);
    expect(res.body.details.map((d: { field: string }) => d.field)).toContain(field);
    expect(await count()).toBe(before);
  });

  it('duplicate names get 409 and create nothing', async () => {
    expect((await api.create('dup', { start: false })).status).toBe(201);
    const before = await count();
    const res = await api.create('dup', { start: false });
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ statusCode: 409, error: 'Conflict' });
    expect(await count()).toBe(before);
  });

  it('unknown sessions get 404 on every route', async () => {
    for (const res of [
      await api.get('nope'),
      await api.action('nope', 'start'),
      await api.action('nope', 'stop'),
      await api.remove('nope'),
      await api.qr('nope'),
      await t.http.patch('/api/sessions/nope').set('X-Api-Key', key()).send({ config: {} }),
    ]) {
      expect(res.status).toBe(404);
      expect(res.body.statusCode).toBe(404);
    }
  });

  it('QR of a session that is not waiting for one is 409', async () => {
    await api.create('idle', { start: false });
    const res = await api.qr('idle');
    expect(res.status).toBe(409);
    expect(res.body.message).toMatch(/SCAN_QR/);
  });

  it('pairing code with a bad phone number is 400, on a stopped session 409', async () => {
    await api.create('pc', { start: false });
    const bad = await t.http.post('/api/sessions/pc/pairing-code').set('X-Api-Key', key()).send({ phoneNumber: 'abc' });
    expect(bad.status).toBe(400);
    expect(bad.body.details[0].field).toBe('phoneNumber');
    const stopped = await t.http.post('/api/sessions/pc/pairing-code').set('X-Api-Key', key()).send({ phoneNumber: '+55 11 99999-8888' });
    expect(stopped.status).toBe(409);
  });

  it('PATCH validates and merges the config, showing defaults', async () => {
    await api.create('cfg', { start: false, config: { rateLimitPerMinute: 30 } });
    const bad = await t.http.patch('/api/sessions/cfg').set('X-Api-Key', key()).send({ config: { rateLimitPerMinute: 'fast' } });
    expect(bad.status).toBe(400);
    const ok = await t.http
      .patch('/api/sessions/cfg')
      .set('X-Api-Key', key())
      .send({ config: { humanize: { enabled: false } } });
    expect(ok.status).toBe(200);
    expect(ok.body.config).toMatchObject({
      rateLimitPerMinute: 30,
      humanize: { enabled: false, typingMsPerChar: 40, minTypingMs: 800, maxTypingMs: 6000, chatGapMs: 1000 },
    });
  });
});
