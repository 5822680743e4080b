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

  describe('no coercion, wrong shapes refused at every depth', () => {
    const fields = (body: { details?: { field: string }[] }) => [...new Set((body.details ?? []).map((d) => d.field))];

    it.each([
      [{ name: 'ok', config: [] }, 'config'],
      [{ name: 'ok', config: [{ rateLimitPerMinute: 5 }] }, 'config'],
      [{ name: 'ok', config: null }, 'config'],
      [{ name: 'ok', config: 'x' }, 'config'],
      [{ name: 'ok', config: 5 }, 'config'],
      [{ name: 'ok', config: { humanize: [] } }, 'config.humanize'],
      [{ name: 'ok', config: { humanize: null } }, 'config.humanize'],
      [{ name: 'ok', config: { webhooks: {} } }, 'config.webhooks'],
      [{ name: 'ok', config: { webhooks: [[]] } }, 'config.webhooks'],
      [{ name: 'ok', config: { webhooks: ['https://example.com/hook'] } }, 'config.webhooks'],
      [{ name: 'ok', start: 'true' }, 'start'],
      [{ name: 'ok', start: null }, 'start'],
      [{ name: 42 }, 'name'],
      [{ name: 'ok', config: { rateLimitPerMinute: '60' } }, 'config.rateLimitPerMinute'],
      [{ name: 'ok', config: { rateLimitPerMinute: null } }, 'config.rateLimitPerMinute'],
      [{ name: 'ok', config: { humanize: { enabled: 'false' } } }, 'config.humanize.enabled'],
      [{ name: 'ok', config: { humanize: { foo: 1 } } }, 'config.humanize.foo'],
      [{ name: 'ok', config: { webhooks: [{ url: 'https://example.com/hook', foo: 1 }] } }, 'config.webhooks.0.foo'],
    ])('POST /api/sessions %j → 400 naming only %s, nothing created', async (body, field) => {
      const before = await count();
      const res = await t.http.post('/api/sessions').set('X-Api-Key', key()).send(body);
      expect({ status: res.status, fields: fields(res.body) }).toEqual({ status: 400, fields: [field] });
      expect(res.body).toMatchObject({ statusCode: 400, error: 'Bad Request', message: expect.stringContaining(field) });
      expect(await count()).toBe(before);
    });

    it('POST /api/sessions with minTypingMs above the default maxTypingMs (6000) → 400, nothing created', async () => {
      const before = await count();
      const res = await t.http.post('/api/sessions').set('X-Api-Key', key()).send({ name: 'slow', start: false, config: { humanize: { minTypingMs: 7000 } } });
      expect(res.status).toBe(400);
      expect(res.body.details).toEqual([{ field: 'config.humanize.minTypingMs', message: 'minTypingMs (7000) must be less than or equal to maxTypingMs (6000)' }]);
      expect(await count()).toBe(before);
    });

    it.each([
      [{}, 'config is required'],
      [{ config: [] }, 'config must be an object, not an array'],
      [{ config: null }, 'config must be an object, not null'],
      [{ config: 'x' }, 'config must be an object, not a string'],
    ])('PATCH %j → 400 naming config, config unchanged', async (body, message) => {
      await api.create('patch-shape', { start: false, config: { rateLimitPerMinute: 30 } });
      const res = await t.http.patch('/api/sessions/patch-shape').set('X-Api-Key', key()).send(body);
      expect({ status: res.status, details: res.body.details }).toEqual({ status: 400, details: [{ field: 'config', message }] });
      expect((await api.session('patch-shape')) as unknown).toMatchObject({ config: { rateLimitPerMinute: 30 } });
    });

    it('PATCH refuses unknown and wrongly shaped nested fields by name', async () => {
      await api.create('patch-nested', { start: false });
      for (const [config, field] of [
        [{ humanize: [] }, 'config.humanize'],
        [{ humanize: { foo: 1 } }, 'config.humanize.foo'],
        [{ webhooks: {} }, 'config.webhooks'],
        [{ extra: true }, 'config.extra'],
      ] as const) {
        const res = await t.http.patch('/api/sessions/patch-nested').set('X-Api-Key', key()).send({ config });
        expect({ config, status: res.status, fields: fields(res.body) }).toEqual({ config, status: 400, fields: [field] });
      }
    });
  });

  describe('PATCH checks and merges against the stored config and the env defaults', () => {
    it('PATCH refuses a merged config whose minTypingMs exceeds maxTypingMs (stored or default)', async () => {
      await api.create('minmax', { start: false, config: { humanize: { maxTypingMs: 800 } } });
      const res = await t.http.patch('/api/sessions/minmax').set('X-Api-Key', key()).send({ config: { humanize: { minTypingMs: 900 } } });
      expect(res.status).toBe(400);
      expect(res.body.details).toEqual([{ field: 'config.humanize.minTypingMs', message: 'minTypingMs (900) must be less than or equal to maxTypingMs (800)' }]);
      // Against the env default (maxTypingMs 6000) too; nothing was stored either time.
      await api.create('minmax-default', { start: false });
      const overDefault = await t.http.patch('/api/sessions/minmax-default').set('X-Api-Key', key()).send({ config: { humanize: { minTypingMs: 6001 } } });
      expect(overDefault.status).toBe(400);
      expect(overDefault.body.details?.[0]?.field).toBe('config.humanize.minTypingMs');
      expect((await api.session('minmax')) as unknown).toMatchObject({ config: { humanize: { minTypingMs: 800, maxTypingMs: 800 } } });
      expect((await api.session('minmax-default')) as unknown).toMatchObject({ config: { humanize: { minTypingMs: 800, maxTypingMs: 6000 } } });
    });

    it('PATCH merges humanize field by field: fields not sent keep their stored value', async () => {
      await api.create('merge', { start: false, config: { humanize: { minTypingMs: 100, chatGapMs: 5 } } });
      const res = await t.http.patch('/api/sessions/merge').set('X-Api-Key', key()).send({ config: { humanize: { enabled: false } } });
      expect(res.status).toBe(200);
      expect(res.body.config.humanize).toEqual({ enabled: false, typingMsPerChar: 40, minTypingMs: 100, maxTypingMs: 6000, chatGapMs: 5 });
      expect((await api.session('merge')) as unknown).toMatchObject({ config: { humanize: { minTypingMs: 100, chatGapMs: 5 } } });
    });
  });

  it.each([
    ['16 digits', '1234567890123456'],
    ['17 digits with separators', '+55 11 99999-8888 0000'],
    ['6 digits with separators', '12 34 56'],
    ['dots', '55.11.99999.8888'],
    ['a number, not a string', 5511999998888],
  ])('pairing code with a phone number of %s is 400 naming phoneNumber', async (_label, phoneNumber) => {
    await api.create('pc-rule', { start: false });
    const res = await t.http.post('/api/sessions/pc-rule/pairing-code').set('X-Api-Key', key()).send({ phoneNumber });
    expect(res.status).toBe(400);
    expect([...new Set(res.body.details.map((d: { field: string }) => d.field))]).toEqual(['phoneNumber']);
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
