import { SandboxNetwork } from '../../src/modules/sandbox/network/sandbox-network';
import { waitFor } from '../helpers/test-env';
import { sessionsApi } from '../helpers/sessions-api';
import { startTestApp, type TestApp } from '../helpers/test-app';

/**
 * "Drop with 428, wait until reconnected, then drop with 401" used to leave a
 * session silent about one time in thirteen: Baileys failed validating the
 * reconnected socket and nothing followed (no status, no reconnect). Every
 * round must end in LOGGED_OUT, visibly, and the session must pair again.
 */
const ROUNDS = 13;

describe('a session never goes silent (428 then 401, repeatedly)', () => {
  let t: TestApp;
  let api: ReturnType<typeof sessionsApi>;
  let network: SandboxNetwork;

  beforeAll(async () => {
    t = await startTestApp({ SANDBOX: 'true', STATUS_DEBOUNCE_MS: '0', RECONNECT_BASE_MS: '20', RECONNECT_MAX_MS: '200' });
    api = sessionsApi(t);
    network = t.app.get(SandboxNetwork);
  });
  afterAll(async () => {
    await t?.close();
  });

  it(`${ROUNDS} rounds each end LOGGED_OUT with a lastError, and the next start pairs again`, async () => {
    await api.create('flappy');
    for (let round = 0; round < ROUNDS; round++) {
      if (round > 0) expect((await api.action('flappy', 'start')).status).toBe(202);
      const paired = await api.pair('flappy', `55119910000${String(round).padStart(2, '0')}`);
      expect((await api.disconnect('flappy', 428)).status).toBe(200);
      // Reconnected: WORKING on a new connection (connectedSince moves) that the sandbox sees online.
      await waitFor(async () => {
        const s = await api.session('flappy');
        return s.status === 'WORKING' && s.stats.connectedSince !== paired.stats.connectedSince && network.sessionState('flappy') === 'online';
      }, `round ${round}: reconnected after 428`, 20_000);
      expect((await api.disconnect('flappy', 401)).status).toBe(200);
      const out = await api.waitForStatus('flappy', 'LOGGED_OUT', 20_000);
      expect({ round, lastError: out.lastError }).toEqual({ round, lastError: expect.stringContaining('401') });
    }
  }, 300_000);

  // The 401 lands the moment the reconnected socket has logged in, while Baileys is still
  // finishing its login (the window where it reported "error in validating connection").
  it(`${ROUNDS} rounds with the 401 right at the reconnected login also end LOGGED_OUT`, async () => {
    await api.create('eager');
    for (let round = 0; round < ROUNDS; round++) {
      if (round > 0) expect((await api.action('eager', 'start')).status).toBe(202);
      await api.pair('eager', `55119920000${String(round).padStart(2, '0')}`);
      expect((await api.disconnect('eager', 428)).status).toBe(200);
      await waitFor(async () => (await api.disconnect('eager', 401)).status === 200, `round ${round}: a 401 on the reconnected socket`, 20_000, 5);
      const out = await api.waitForStatus('eager', 'LOGGED_OUT', 20_000);
      expect({ round, lastError: out.lastError }).toEqual({ round, lastError: expect.stringContaining('401') });
    }
  }, 300_000);
});
