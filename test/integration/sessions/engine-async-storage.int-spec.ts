import { executionAsyncResource } from 'node:async_hooks';
import { SandboxNetwork } from '../../../src/modules/sandbox/network/sandbox-network';
import { AuthStateCipher } from '../../../src/modules/sessions/auth-state/auth-state-cipher';
import { AuthStateRepository } from '../../../src/modules/sessions/auth-state/auth-state.repository';
import { createAuthStateStore } from '../../../src/modules/sessions/auth-state/postgres-auth-state.store';
import { BaileysEngine } from '../../../src/modules/sessions/engine/baileys/baileys-engine';
import type { EngineConnection, EngineEvent } from '../../../src/modules/sessions/engine/whatsapp-engine.port';
import { PrismaService } from '../../../src/infra/prisma/prisma.service';
import { createTestEnv, waitFor, type TestEnv } from '../../helpers/test-env';

/**
 * Each Baileys socket has an AsyncLocalStorage (key-store transactions) that
 * Baileys never disables. On Node 20/22 every enabled storage is propagated to
 * every new promise and async resource of the process, so without the engine
 * disabling it on release, each connection ever opened (every reconnect
 * included) slows the whole process down for good: restoring 500 sessions in
 * `npm run bench:sessions` took 8 minutes, CPU-bound in async_hooks.
 * Node 24+ propagates through async context frames instead: nothing to count there.
 */
const COUNTABLE = Number(process.versions.node.split('.')[0]) < 24;

/** How many AsyncLocalStorage instances Node propagates to every new async resource right now. */
function enabledAsyncLocalStorages(): Promise<number> {
  return new Promise((resolve) =>
    setImmediate(() => resolve(Object.getOwnPropertySymbols(executionAsyncResource()).filter((s) => s.description === 'kResourceStore').length)),
  );
}

describe('BaileysEngine releases the AsyncLocalStorage of every socket it closes', () => {
  let env: TestEnv;
  let prisma: PrismaService;
  let network: SandboxNetwork;
  let engine: BaileysEngine;

  beforeAll(async () => {
    env = await createTestEnv();
    prisma = new PrismaService(env.config);
    network = new SandboxNetwork({ fastPreKeys: true });
    await network.start();
    engine = new BaileysEngine({
      logLevel: 'silent',
      sandbox: { urlForSession: (name) => network.urlForSession(name), rootPublicKey: network.rootPublicKey },
    });
  });
  afterAll(async () => {
    await network?.close();
    await prisma?.disconnect();
    await env?.cleanup();
  });

  it('pairing, then 5 reconnects: as many storages propagated afterwards as before', async () => {
    const sessionId = (await prisma.session.create({ data: { name: 'als' } })).id;
    const auth = createAuthStateStore(new AuthStateRepository(prisma), AuthStateCipher.fromConfig(undefined), sessionId);
    const connect = async () => {
      const events: EngineEvent[] = [];
      const connection: EngineConnection = await engine.connect({ sessionId, sessionName: 'als', auth, onEvent: (e) => events.push(e) });
      return { connection, events };
    };
    const baseline = await enabledAsyncLocalStorages();

    const first = await connect();
    const qr = await waitFor(() => first.events.find((e): e is Extract<EngineEvent, { type: 'qr' }> => e.type === 'qr'), 'QR');
    await network.scan('als', qr.value, { phone: '5511970000001' });
    await waitFor(() => first.events.some((e) => e.type === 'close'), 'restart after pairing');
    await first.connection.close();

    let peak = 0;
    for (let i = 0; i < 5; i++) {
      const { connection, events } = await connect();
      await waitFor(() => events.some((e) => e.type === 'open'), `open #${i + 1}`);
      // The socket's key-store transactions ran (login), so its storage is enabled while it lives.
      await waitFor(async () => (await enabledAsyncLocalStorages()) > baseline || !COUNTABLE, 'the socket storage in use');
      peak = Math.max(peak, await enabledAsyncLocalStorages());
      await connection.close();
    }
    if (COUNTABLE) expect(peak).toBeGreaterThan(baseline); // the measurement sees the storages at all
    expect(await enabledAsyncLocalStorages()).toBe(baseline);
  });
});
