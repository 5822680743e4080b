import { SandboxNetwork } from '../../../src/modules/sandbox/network/sandbox-network';
import { query } from '../../helpers/db-query';
import { callApp, startCompiledApp, type RunningApp } from '../../helpers/running-app';
import { createTestEnv, waitFor, type TestEnv } from '../../helpers/test-env';

/**
 * kill -9 of the worker that receives, while fake contacts send it a burst
 * (a real child process of the compiled app; the fake WhatsApp network runs in
 * this test process, so it outlives the kill like WhatsApp would, and delivers
 * again at the next login every message the device never receipted). A second
 * process adopts the session: every message the contacts sent is recorded,
 * exactly once. Before the engine held delivery receipts until the commit,
 * the messages whose receipt had left but whose row had not committed at the
 * kill were lost.
 */
const CONTACTS = 12;
const PER_CONTACT = 40;
const TOTAL = CONTACTS * PER_CONTACT;
const SESSION_PHONE = '5511973000001';
const contact = (c: number) => `55119730011${String(c).padStart(2, '0')}`;

describe('inbound messages survive kill -9 of the receiving worker mid-burst (compiled app as a process)', () => {
  let network: SandboxNetwork;
  let env: TestEnv;
  const apps: RunningApp[] = [];

  beforeAll(async () => {
    network = new SandboxNetwork({ fastPreKeys: true });
    await network.start();
    env = await createTestEnv({
      SANDBOX: 'true',
      SANDBOX_URL: network.wsUrl,
      SANDBOX_ROOT_KEY: network.rootPublicKey.toString('base64'),
      STATUS_DEBOUNCE_MS: '0',
      HUMANIZE_ENABLED: 'false',
      SESSION_LEASE_TTL_MS: '2000',
      SESSION_RECONCILE_INTERVAL_MS: '500',
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

  const start = (label: string, instanceId: string) => startCompiledApp(label, { ...env.env, INSTANCE_ID: instanceId }, (app) => apps.push(app));
  const statusOf = async (app: RunningApp, name: string) => (await callApp(app, 'GET', `/api/sessions/${name}`)).body?.status;
  const recorded = () =>
    query<{ waMessageId: string; text: string | null }>(env.databaseUrl, `SELECT "waMessageId", "text" FROM "Message" WHERE direction = 'INBOUND'`);

  it('records every message the contacts sent exactly once after a restart', async () => {
    const first = await start('first process', 'crash-recv-1');
    expect((await callApp(first, 'POST', '/api/sessions', { name: 'inbox' })).status).toBe(201);
    await waitFor(
      async () => {
        if ((await statusOf(first, 'inbox')) !== 'SCAN_QR') return false;
        const qr = await callApp(first, 'GET', '/api/sessions/inbox/qr');
        if (qr.status !== 200) return false;
        // The QR may rotate meanwhile: then scan the next one.
        return network.scan('inbox', qr.body!.value as string, { phone: SESSION_PHONE }).then(
          () => true,
          () => false,
        );
      },
      'a successful scan',
      30000,
      100,
    );
    await waitFor(async () => (await statusOf(first, 'inbox')) === 'WORKING', 'inbox WORKING', 30000, 50);

    // The contacts start (keys, sessions) before the burst, so the burst itself is only messages.
    for (let c = 0; c < CONTACTS; c++) await network.inbound('inbox', contact(c), `hello from ${c}`);
    await waitFor(async () => (await recorded()).length >= CONTACTS, 'the greetings recorded', 30000, 50);

    // The burst: every contact sends its messages one after another, the contacts side by side.
    const sent = new Map<string, string>();
    const burst = Promise.all(
      Array.from({ length: CONTACTS }, async (_, c) => {
        for (let n = 0; n < PER_CONTACT; n++) {
          const text = `c${c}-m${n}`;
          sent.set(await network.inbound('inbox', contact(c), text), text);
        }
      }),
    );
    // Killed while messages are arriving: some recorded, most not.
    await waitFor(async () => (await recorded()).length >= CONTACTS + 40, '40 burst messages recorded before the kill', 60000, 5);
    first.proc.child.kill('SIGKILL');
    expect((await first.proc.exited).signal).toBe('SIGKILL');
    const atKill = (await recorded()).length - CONTACTS;
    // The contacts go on sending while the session is down (the sandbox keeps it for the next login).
    await burst;
    expect(sent.size).toBe(TOTAL);
    expect(atKill).toBeLessThan(TOTAL);

    // The second process adopts the session (its lease expires) and gets what the device never receipted.
    await start('second process', 'crash-recv-2');
    let rows: Array<{ waMessageId: string; text: string | null }> = [];
    const missing = () => [...sent.keys()].filter((id) => !rows.some((r) => r.waMessageId === id));
    await waitFor(
      async () => (rows = (await recorded()).filter((r) => sent.has(r.waMessageId))).length === TOTAL,
      () => `every message recorded (${rows.length} of ${TOTAL}; ${atKill} before the kill; missing ${missing().slice(0, 5).join(', ')}...)`,
      120_000,
      200,
    );
    // Settled: nothing arrives twice afterwards (the database would refuse a second row per id; no other id appears either).
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const all = await recorded();
    expect(all).toHaveLength(TOTAL + CONTACTS);
    expect(new Set(all.map((r) => r.waMessageId)).size).toBe(all.length);
    for (const [id, text] of sent) expect({ id, text: all.find((r) => r.waMessageId === id)?.text }).toEqual({ id, text });
    // eslint-disable-next-line no-console
    console.info(
      `inbound kill -9 mid-burst: ${atKill} of ${TOTAL} recorded before the kill, ${network.stats().redeliveredUnreceipted} unreceipted messages delivered again`,
    );
  }, 300_000);
});
