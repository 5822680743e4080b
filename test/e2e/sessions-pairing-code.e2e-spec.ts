import { SandboxNetwork } from '../../src/modules/sandbox/network/sandbox-network';
import { sessionsApi } from '../helpers/sessions-api';
import { startTestApp, type TestApp } from '../helpers/test-app';

/**
 * Linking with a pairing code instead of a QR, end to end: ZapHub asks WhatsApp
 * (the sandbox) for a code through the REST API, the sandbox phone's user types
 * it, the full link_code_companion_reg exchange runs in real Baileys, and the
 * session comes up WORKING as that phone's account.
 */
describe('POST /api/sessions/:name/pairing-code', () => {
  let t: TestApp;
  let api: ReturnType<typeof sessionsApi>;
  const pairingCode = (name: string, phoneNumber: unknown) =>
    t.http.post(`/api/sessions/${name}/pairing-code`).set('X-Api-Key', t.apiKey).send({ phoneNumber });

  beforeAll(async () => {
    t = await startTestApp({ SANDBOX: 'true', STATUS_DEBOUNCE_MS: '0' });
    api = sessionsApi(t);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('SCAN_QR → code "ABCD-EFGH" → the phone enters it → WORKING as that number; a WORKING session gets 409', async () => {
    const network = t.app.get(SandboxNetwork);
    expect((await api.create('coder')).status).toBe(201);
    await api.waitForStatus('coder', 'SCAN_QR');

    // Formatted as a user would type it; ZapHub keeps the digits.
    const res = await pairingCode('coder', '+55 11 94000-0001');
    expect(res.status).toBe(200);
    expect(Object.keys(res.body)).toEqual(['code']);
    expect(res.body.code).toMatch(/^[A-Z0-9]{4}-[A-Z0-9]{4}$/);

    const linked = await network.enterPairingCode('coder', res.body.code);
    expect(linked.phone).toBe('5511940000001');
    const working = await api.waitForStatus('coder', 'WORKING');
    expect(working.me?.phone).toBe('5511940000001');
    expect(working.me?.id).toBe('5511940000001@s.whatsapp.net');
    expect(working.lastError).toBeNull();
    expect(network.sessionState('coder')).toBe('online');
    expect(network.sessionPhone('coder')).toBe('5511940000001');
    // The session is linked for good: no QR any more.
    expect((await api.qr('coder')).status).toBe(409);

    const again = await pairingCode('coder', '5511940000001');
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ statusCode: 409, error: 'Conflict' });
    expect(again.body.message).toMatch(/WORKING/);
  });

  it('a wrong code is refused by the phone, and the right one still links', async () => {
    const network = t.app.get(SandboxNetwork);
    await api.create('coder2');
    await api.waitForStatus('coder2', 'SCAN_QR');
    const res = await pairingCode('coder2', '5511940000002');
    expect(res.status).toBe(200);
    const code: string = res.body.code;
    // Same alphabet, one character changed.
    const wrong = `${code.slice(0, 8)}${code[8] === 'A' ? 'B' : 'A'}`;
    await expect(network.enterPairingCode('coder2', wrong)).rejects.toThrow(/wrong pairing code/i);
    expect((await api.session('coder2')).status).toBe('SCAN_QR');
    await network.enterPairingCode('coder2', code);
    expect((await api.waitForStatus('coder2', 'WORKING')).me?.phone).toBe('5511940000002');
  });

  it('400 for a malformed phone number, 404 for an unknown session, 409 for a stopped one', async () => {
    const bad = await pairingCode('coder', 'not-a-number');
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body.details ?? bad.body.message)).toMatch(/phoneNumber/);
    expect((await pairingCode('nobody', '5511940000009')).status).toBe(404);
    await api.create('parked', { start: false });
    expect((await pairingCode('parked', '5511940000003')).status).toBe(409);
  });
});
