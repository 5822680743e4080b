import { Queue } from 'bullmq';
import { ALL_QUEUES, OWNER_QUEUES, QueueName } from '../../src/infra/queues/queue-catalogue';
import { QueuesService } from '../../src/infra/queues/queues.service';
import { OwnerQueueCopies } from '../../src/modules/queues-admin/owner-queue-copies';
import { startTestApp, type TestApp } from '../helpers/test-app';

/**
 * bull-board at /admin/queues: nothing of it (page, static assets, its JSON
 * API, its actions) answers without the API key, whatever the spelling of the
 * path; with the key it shows every queue of the catalogue, read from the same
 * Redis keys (REDIS_PREFIX) the workers use, and every worker's copy of the
 * owner queues that holds jobs.
 */
describe('bull-board at /admin/queues', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t?.close();
  });

  const unauthorized = (res: { status: number; body: Record<string, unknown>; headers: Record<string, string> }, what: string) => {
    expect({ what, status: res.status }).toEqual({ what, status: 401 });
    expect(res.headers['content-type']).toMatch(/application\/json/);
    expect(res.body).toMatchObject({ statusCode: 401, error: 'Unauthorized', message: expect.any(String), requestId: expect.any(String) });
  };

  it('answers 401 JSON to the page, its assets, its API and its actions without the key or with a wrong one', async () => {
    const paths = ['/admin/queues', '/admin/queues/', '/admin/queues/queue/message-send', '/admin/queues/api/queues', '/admin/queues/static/favicon-32x32.png'];
    for (const path of paths) {
      unauthorized(await t.http.get(path), `GET ${path} without key`);
      unauthorized(await t.http.get(path).set('X-Api-Key', `${t.apiKey}x`), `GET ${path} with a wrong key`);
      unauthorized(await t.http.get(path).set('X-Api-Key', ''), `GET ${path} with an empty key`);
    }
    for (const path of ['/admin/queues/api/queues/pause', '/admin/queues/api/queues/message-send/pause']) {
      unauthorized(await t.http.put(path), `PUT ${path} without key`);
    }
    // Express matches paths case-insensitively: another spelling must not slip past the check.
    for (const path of ['/ADMIN/QUEUES', '/Admin/Queues/api/queues']) {
      const res = await t.http.get(path);
      expect({ path, status: res.status }).toEqual({ path, status: 401 });
    }
  });

  it('leaves every queue running after refused actions', async () => {
    await t.http.put('/admin/queues/api/queues/pause');
    const res = await t.http.get('/api/queues').set('X-Api-Key', t.apiKey);
    expect((res.body as Array<{ paused: boolean }>).every((q) => !q.paused)).toBe(true);
  });

  it('serves the board with the key', async () => {
    const page = await t.http.get('/admin/queues').set('X-Api-Key', t.apiKey);
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toMatch(/text\/html/);
    expect(page.text).toMatch(/ZapHub queues/);
  });

  const boardQueues = async () => {
    const res = await t.http.get('/admin/queues/api/queues').set('X-Api-Key', t.apiKey);
    expect(res.status).toBe(200);
    return (res.body as { queues: Array<{ name: string; counts: Record<string, number> }> }).queues;
  };

  it('lists every queue of the catalogue (owner queues as this replica\'s copy) with the jobs the app enqueued', async () => {
    // A job far in the future stays delayed for the whole test: the board must show it in its queue.
    await t.app.get(QueuesService).add(QueueName.SessionClose, { sessionId: '00000000-0000-4000-8000-000000000001', action: 'stop' }, { delay: 3_600_000 });
    const queues = await boardQueues();
    const instance = t.env.config.INSTANCE_ID;
    expect(queues.map((q) => q.name).sort()).toEqual(ALL_QUEUES.map((q) => (OWNER_QUEUES.includes(q) ? `owner-${instance}.${q}` : q)).sort());
    expect(queues.find((q) => q.name === QueueName.SessionClose)?.counts.delayed).toBe(1);
  });

  it("shows other workers' copies of an owner queue that hold jobs, not empty ones", async () => {
    expect(OWNER_QUEUES.length).toBeGreaterThan(0);
    const queue = OWNER_QUEUES[0];
    const prefix = t.env.config.REDIS_PREFIX;
    // Two other workers' copies, as their QueuesModule opens them: one with a job, one empty.
    const busy = new Queue(queue, { connection: { url: t.env.config.REDIS_URL }, prefix: `${prefix}-owner-worker-b` });
    const idle = new Queue(queue, { connection: { url: t.env.config.REDIS_URL }, prefix: `${prefix}-owner-worker-c` });
    try {
      await busy.add(queue, { sessionId: '00000000-0000-4000-8000-000000000002', messageId: '00000000-0000-4000-8000-000000000003' }, { delay: 3_600_000 });
      await idle.waitUntilReady();
      await t.app.get(OwnerQueueCopies).refresh();
      const queues = await boardQueues();
      expect(queues.find((q) => q.name === `owner-worker-b.${queue}`)?.counts.delayed).toBe(1);
      expect(queues.map((q) => q.name)).not.toContain(`owner-worker-c.${queue}`);
      // Once its jobs are gone, the copy leaves the board.
      await busy.obliterate({ force: true });
      await t.app.get(OwnerQueueCopies).refresh();
      expect((await boardQueues()).map((q) => q.name)).not.toContain(`owner-worker-b.${queue}`);
    } finally {
      await Promise.all([busy.close(), idle.close()]);
    }
  });
});
