import { SandboxNetwork } from '../../../src/modules/sandbox/network/sandbox-network';
import { query } from '../../helpers/db-query';
import { callApp, startCompiledApp, type RunningApp } from '../../helpers/running-app';
import { createTestEnv, waitFor, type TestEnv } from '../../helpers/test-env';

/**
 * kill -9 of the worker that sends, in the middle of a burst (a real child
 * process of the compiled app; the fake WhatsApp network runs in this test
 * process, so it outlives the kill like WhatsApp would). A second process on
 * the same database and Redis adopts the session and sends the rest: every
 * accepted message arrives, in per-chat order; a message whose send was cut
 * may arrive again with the same WhatsApp id (a copy, which the phone shows
 * once), never as a second message (a duplicate).
 */
// A burst of 1,000 (the size): 20 chats of 50.
const CHATS = 20;
const PER_CHAT = 50;
const SESSION_PHONE = '5511972000001';
const contact = (c: number) => `55119720011${String(c).padStart(2, '0')}`;

type App = RunningApp;

describe('messages survive kill -9 of the sending worker mid-burst (compiled app as a process)', () => {
  let network: SandboxNetwork;
  let env: TestEnv;
  const apps: App[] = [];

  beforeAll(async () => {
    network = new SandboxNetwork({ fastPreKeys: true, deliveryReceiptMs: 50, readReceiptMs: 50 });
    await network.start();
    env = await createTestEnv({
      SANDBOX: 'true',
      SANDBOX_URL: network.wsUrl,
      SANDBOX_ROOT_KEY: network.rootPublicKey.toString('base64'),
      STATUS_DEBOUNCE_MS: '0',
      HUMANIZE_ENABLED: 'false',
      // 100 sends a second at most: the burst takes seconds, so the kill lands in the middle of it.
      DEFAULT_RATE_LIMIT_PER_MINUTE: '100',
      RATE_LIMIT_WINDOW_MS: '1000',
      SESSION_LEASE_TTL_MS: '2000',
      SESSION_RECONCILE_INTERVAL_MS: '500',
      MESSAGE_RECONCILE_INTERVAL_MS: '500',
      QUEUE_MESSAGE_SEND_CONCURRENCY: '5',
    });
  });
  afterAll(async () => {
    for (const app of apps) {
      if (!app.proc.hasExited()) app.proc.child.kill('SIGKILL');
      await app.proc.exited;
    }
    await env?.cleanup();
    await network?.close();
  });

  async function start(label: string, instanceId: string): Promise<App> {
    return startCompiledApp(label, { ...env.env, INSTANCE_ID: instanceId }, (app) => apps.push(app));
  }

  const call = callApp;

  const statusOf = async (app: App, name: string) => (await call(app, 'GET', `/api/sessions/${name}`)).body?.status;
  const countSent = async () => Number((await query<{ n: string }>(env.databaseUrl, `SELECT count(*) AS n FROM "Message" WHERE status IN ('SENT', 'DELIVERED', 'READ')`))[0]!.n);

  it('sends every accepted message after a restart, in per-chat order, with copies but no duplicates', async () => {
    const first = await start('first process', 'crash-send-1');
    expect((await call(first, 'POST', '/api/sessions', { name: 'burst' })).status).toBe(201);
    await waitFor(
      async () => {
        if ((await statusOf(first, 'burst')) !== 'SCAN_QR') return false;
        const qr = await call(first, 'GET', '/api/sessions/burst/qr');
        if (qr.status !== 200) return false;
        const scanned = await network.scan('burst', qr.body!.value as string, { phone: SESSION_PHONE }).then(
          () => true,
          () => false, // the QR rotated meanwhile: scan the next one
        );
        return scanned;
      },
      'a successful scan',
      30000,
      100,
    );
    await waitFor(async () => (await statusOf(first, 'burst')) === 'WORKING', 'burst WORKING', 30000, 50);

    // The burst: PER_CHAT messages to each of CHATS chats, the chats side by side (each chat's in order).
    await Promise.all(
      Array.from({ length: CHATS }, async (_, c) => {
        for (let n = 0; n < PER_CHAT; n++) {
          const res = await call(first, 'POST', '/api/sessions/burst/messages', { to: contact(c), type: 'text', text: `c${c}-m${n}` });
          expect(res.status).toBe(202);
        }
      }),
    );
    // Killed while sending: some sent, most not.
    await waitFor(async () => (await countSent()) >= 30, '30 messages sent before the kill', 30000, 20);
    first.proc.child.kill('SIGKILL');
    expect((await first.proc.exited).signal).toBe('SIGKILL');
    const sentAtKill = await countSent();
    expect(sentAtKill).toBeLessThan(CHATS * PER_CHAT / 2);

    // The second process adopts the session (its lease expires) and sends the rest.
    await start('second process', 'crash-send-2');
    // Generous: about a minute on a quiet 2-core machine, several when other suites share it.
    let sent = 0;
    await waitFor(async () => (sent = await countSent()) === CHATS * PER_CHAT, () => `every message SENT (${sent} of ${CHATS * PER_CHAT})`, 240_000, 100);

    let copies = 0;
    for (let c = 0; c < CHATS; c++) {
      const inbox = network.contactMessages(contact(c));
      const texts = inbox.map((m) => m.text);
      // Every message of the chat once, in acceptance order: no duplicate (another id, same text), none lost.
      expect({ chat: c, texts }).toEqual({ chat: c, texts: Array.from({ length: PER_CHAT }, (_, n) => `c${c}-m${n}`) });
      copies += inbox.reduce((sum, m) => sum + m.copies - 1, 0);
    }
    // Copies are resends of a send the kill cut (at most one per chat being drained at that moment).
    expect(copies).toBeLessThanOrEqual(5);
    // eslint-disable-next-line no-console
    console.info(`kill -9 mid-burst: ${sentAtKill} of ${CHATS * PER_CHAT} sent before the kill, ${copies} copies after the restart`);
  }, 330_000);
});
