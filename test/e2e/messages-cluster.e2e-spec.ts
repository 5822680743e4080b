import { SandboxNetwork } from '../../src/modules/sandbox/network/sandbox-network';
import { OutboxRepository } from '../../src/modules/messaging/outbox/outbox.repository';
import { SessionChannels } from '../../src/modules/sessions/session-channels';
import { SessionsService } from '../../src/modules/sessions/sessions.service';
import { sessionsApi } from '../helpers/sessions-api';
import { startTestApp, type TestApp } from '../helpers/test-app';
import { createTestEnv, waitFor, type TestEnv } from '../helpers/test-env';

/**
 * Messages with several replicas: an api replica (hosting the sandbox's fake
 * network) accepts, two workers own sessions. Each chat's messages leave in
 * order and only through the session's owner (the hint goes to it); when the
 * owner shuts down, the other worker adopts the session and what was still
 * queued leaves, in order, none lost.
 */
describe('messages across replicas: an api replica accepts, the owner of the session sends', () => {
  let env: TestEnv;
  let api: TestApp;
  const workers: TestApp[] = [];
  const common = { STATUS_DEBOUNCE_MS: '0', HUMANIZE_ENABLED: 'false', SESSION_RECONCILE_INTERVAL_MS: '500', SESSION_LEASE_TTL_MS: '2000', MESSAGE_RECONCILE_INTERVAL_MS: '1000' };
  const key = <R extends { set(name: string, value: string): R }>(r: R) => r.set('X-Api-Key', api.apiKey);
  /** Waits until `n` messages of the session are sent (a contact can see one before its row says so; receipts move them on to DELIVERED and READ). */
  const allSent = (n: number) =>
    waitFor(
      async () => ((await key(api.http.get('/api/sessions/cluster/messages?direction=outbound&limit=1000'))).body.items as Array<{ sentAt: string | null }>).filter((m) => m.sentAt).length >= n,
      `${n} messages sent`,
      30000,
    );
  const inbox = async (phone: string) => (await key(api.http.get(`/api/sandbox/contacts/${phone}/messages`))).body as Array<{ text: string; copies: number }>;

  /** Counts, per worker, the messages its drains recorded as sent (the app's own repository, wrapped). */
  const sentBy = new Map<TestApp, number>();
  function countSends(w: TestApp): void {
    sentBy.set(w, 0);
    const outbox = w.app.get(OutboxRepository);
    const markSentMany = outbox.markSentMany.bind(outbox);
    outbox.markSentMany = async (...args: Parameters<typeof markSentMany>) => {
      const result = await markSentMany(...args);
      sentBy.set(w, (sentBy.get(w) ?? 0) + result.length);
      return result;
    };
  }

  beforeAll(async () => {
    env = await createTestEnv({ SANDBOX: 'true', ...common });
    api = await startTestApp({ SANDBOX: 'true', APP_ROLE: 'api', INSTANCE_ID: 'msg-api', ...common }, env);
    const network = api.app.get(SandboxNetwork);
    const sandbox = { SANDBOX: 'true', SANDBOX_URL: network.wsUrl, SANDBOX_ROOT_KEY: network.rootPublicKey.toString('base64') };
    for (const id of ['msg-w1', 'msg-w2']) {
      const w = await startTestApp({ ...sandbox, INSTANCE_ID: id, APP_ROLE: 'worker', ...common }, env);
      countSends(w);
      workers.push(w);
    }
  });
  afterAll(async () => {
    for (const w of workers) await w.close().catch(() => undefined);
    await api?.close();
    await env?.cleanup();
  });

  it('sends each chat in order through the owner only; after the owner shuts down the other worker sends the rest', async () => {
    const sessions = sessionsApi(api);
    await sessions.create('cluster');
    await sessions.pair('cluster', '5511971000001');
    const sessionId = await api.app.get(SessionsService).idOf('cluster');
    const owner = await waitFor(() => workers.find((w) => w.app.get(SessionChannels).get(sessionId) !== null), 'an owner with a working channel');
    const other = workers.find((w) => w !== owner)!;

    const contacts = ['5511971000101', '5511971000102'];
    const post = (i: number) => key(api.http.post('/api/sessions/cluster/messages')).send({ to: contacts[i % 2], type: 'text', text: `m${i}` });
    for (let i = 0; i < 20; i++) expect((await post(i)).status).toBe(202);
    for (const [c, phone] of contacts.entries()) {
      const texts = await waitFor(async () => {
        const got = (await inbox(phone)).map((m) => m.text);
        return got.length >= 10 ? got : null;
      }, `10 messages at ${phone}`);
      expect(texts).toEqual(Array.from({ length: 10 }, (_, k) => `m${k * 2 + c}`));
    }
    await allSent(20);
    expect({ owner: sentBy.get(owner), other: sentBy.get(other) }).toEqual({ owner: 20, other: 0 });

    // The owner goes away; messages accepted meanwhile wait for the adopter.
    await owner.close();
    workers.splice(workers.indexOf(owner), 1);
    for (let i = 20; i < 30; i++) expect((await post(i)).status).toBe(202);
    for (const [c, phone] of contacts.entries()) {
      const texts = await waitFor(
        async () => {
          const got = (await inbox(phone)).map((m) => m.text);
          return got.length >= 15 ? got : null;
        },
        `15 messages at ${phone}`,
        30000,
      );
      expect(texts).toEqual(Array.from({ length: 15 }, (_, k) => `m${k * 2 + c}`));
    }
    await allSent(30);
    expect(sentBy.get(other)).toBe(10);
    expect((await inbox(contacts[0]!)).every((m) => m.copies === 1)).toBe(true);
  });
});
