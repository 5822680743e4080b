import { startTestApp, type TestApp } from '../helpers/test-app';

describe('HTTP basics', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t?.close();
  });

  it('answers unknown routes with a 404 JSON error carrying a request id', async () => {
    const res = await t.http.get('/definitely-not-a-route');
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ statusCode: 404, error: 'Not Found' });
    expect(typeof res.body.requestId).toBe('string');
    expect(res.body.requestId.length).toBeGreaterThan(0);
  });

  it('rejects /api routes without the API key', async () => {
    const res = await t.http.get('/api/queues');
    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({ statusCode: 401, error: 'Unauthorized' });
  });

  it('lists the queues with the API key (the seven of the contract and media-download)', async () => {
    const res = await t.http.get('/api/queues').set('X-Api-Key', t.apiKey);
    expect(res.status).toBe(200);
    expect(res.body.map((q: { name: string }) => q.name).sort()).toEqual(
      ['maintenance-cleanup', 'media-download', 'message-receive', 'message-send', 'message-status', 'session-close', 'session-init', 'webhook-delivery'],
    );
  });
});
