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
 * disabling it, each connection ever opened (every reconnect included) slows
 * the whole process down for good, and each live one while it lives: restoring
 * 500 sessions in `npm run bench:sessions` took 8 minutes, CPU-bound in async_hooks.
 * Node 24+ propagates through async context frames instead: nothing to count there.
 */
const COUNTABLE = Number(process.versions.node.split('.')[0]) < 24;

/** How many AsyncLocalStorage instances Node propagates to every new async resource right now. */
function enabledAsyncLocalStorages(): Promise<number> {
  return new Promise((resolve) =>
    setImmediate(() => resolve(Object.getOwnPropertySymbols(executionAsyncResource()).filter((s) => s.description === 'kResourceStore').length)),
  );
}

describe('BaileysEngine keeps the AsyncLocalStorage of its sockets disabled outside key-store transactions', () => {
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

  it('pairing, then 5 reconnects: no storage stays enabled, neither by an idle live socket nor by a closed one', async () => {
    const sessionId = (await prisma.session.create({ data: { name: 'als' } })).id;
    const auth = createAuthStateStore(new AuthStateRepository(prisma), AuthStateCipher.fromConfig(undefined), sessionId);
    const connect = async () => {
      const events: EngineEvent[] = [];
      const connection: EngineConnection = await engine.connect({ sessionId, sessionName: 'als', auth, onEvent: (e) => void events.push(e) });
      return { connection, events };
    };
    const baseline = await enabledAsyncLocalStorages();

    const first = await connect();
    const qr = await waitFor(() => first.events.find((e): e is Extract<EngineEvent, { type: 'qr' }> => e.type === 'qr'), 'QR');
    await network.scan('als', qr.value, { phone: '5511970000001' });
    await waitFor(() => first.events.some((e) => e.type === 'close'), 'restart after pairing');
    await first.connection.close();

    for (let i = 0; i < 5; i++) {
      const { connection, events } = await connect();
      await waitFor(() => events.some((e) => e.type === 'open'), `open #${i + 1}`);
      // Logged in (its key-store transactions ran): an idle live socket leaves no storage enabled either.
      await waitFor(async () => (await enabledAsyncLocalStorages()) === baseline, `no storage enabled by idle socket #${i + 1}`, 5000);
      await connection.close();
    }
    expect(await enabledAsyncLocalStorages()).toBe(baseline);
  });
});
