import { createCipheriv, randomBytes } from 'node:crypto';
import { Test } from '@nestjs/testing';
import { APP_CONFIG, type AppConfig } from '../../../src/config';
import { LifecycleService } from '../../../src/infra/lifecycle/lifecycle.service';
import { PrismaService } from '../../../src/infra/prisma/prisma.service';
import { SandboxNetwork } from '../../../src/modules/sandbox/network/sandbox-network';
import { AuthStateCipher, credsRow, keyRow } from '../../../src/modules/sessions/auth-state/auth-state-cipher';
import { AUTH_STATE_ENCRYPTION_TASK, AuthStateEncryptionTask } from '../../../src/modules/sessions/auth-state/auth-state-encryption.task';
import { authStateProviders } from '../../../src/modules/sessions/auth-state/auth-state.providers';
import {
  AuthStateRepository,
  UnencryptedAuthWriteError,
  type AuthKeyCursor,
  type StoredAuthKey,
} from '../../../src/modules/sessions/auth-state/auth-state.repository';
import { createAuthStateStore } from '../../../src/modules/sessions/auth-state/postgres-auth-state.store';
import { BaileysEngine } from '../../../src/modules/sessions/engine/baileys/baileys-engine';
import type { AuthStateStore, EngineConnection, EngineEvent } from '../../../src/modules/sessions/engine/whatsapp-engine.port';
import { AUTH_STATE_STORES, type AuthStateStores } from '../../../src/modules/sessions/runtime/auth-state-stores';
import { createTestEnv, waitFor, type TestEnv } from '../../helpers/test-env';

/** What the previous release wrote: `enc:v1:<iv>:<tag>:<ct>`, no key id, no associated data. */
function encryptV1(key: string, plain: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', Buffer.from(key, 'base64'), iv);
  const ct = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
  return `enc:v1:${iv.toString('base64')}:${cipher.getAuthTag().toString('base64')}:${ct.toString('base64')}`;
}

const newKey = () => randomBytes(32).toString('base64');

describe('auth state encryption at rest (PostgreSQL)', () => {
  let env: TestEnv;
  let prisma: PrismaService;
  /** Writes anything (no key configured): seeds rows as older releases or setups left them. */
  let raw: AuthStateRepository;

  // A database per test: the task scans every row, so rows of another test would show up in its report.
  beforeEach(async () => {
    env = await createTestEnv();
    prisma = new PrismaService(env.config);
    raw = new AuthStateRepository(prisma);
  });
  afterEach(async () => {
    await prisma?.disconnect();
    await env?.cleanup();
  });

  const session = async (name: string) => (await prisma.session.create({ data: { name } })).id;
  const configWith = (current?: string, previous?: string): AppConfig => ({ ...env.config, AUTH_STATE_KEY: current, AUTH_STATE_KEY_PREVIOUS: previous });

  function taskFor(current: string, previous?: string, repository?: AuthStateRepository, lifecycle = new LifecycleService()) {
    const config = configWith(current, previous);
    return new AuthStateEncryptionTask(
      config,
      AuthStateCipher.fromConfig(current, previous),
      repository ?? new AuthStateRepository(prisma, config),
      lifecycle,
    );
  }

  /** Every stored value of these sessions, creds under the id "creds". */
  async function storedValues(ids: string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (const c of await prisma.authCreds.findMany({ where: { sessionId: { in: ids } } })) out.set(`${c.sessionId}/creds`, c.data);
    for (const k of await prisma.authKey.findMany({ where: { sessionId: { in: ids } } })) out.set(`${k.sessionId}/${k.type}/${k.keyId}`, k.value);
    return out;
  }

  /**
   * Seeds one session per legacy form: plain text (written before any key),
   * enc:v1 under `oldKey`, v2 under `oldKey` (before a rotation), v2 already
   * under `currentKey`. Returns the ids and the plain values they hold.
   */
  async function seedLegacy(prefix: string, oldKey: string, currentKey: string, keysPerSession: number) {
    const plain = new Map<string, { creds: string; keys: Record<string, string> }>();
    const old = AuthStateCipher.fromConfig(oldKey);
    const current = AuthStateCipher.fromConfig(currentKey);
    const forms = {
      clear: (_id: string, _type: string, _keyId: string | null, v: string) => v,
      v1: (_id: string, _type: string, _keyId: string | null, v: string) => encryptV1(oldKey, v),
      previous: (id: string, type: string, keyId: string | null, v: string) => old.encrypt(v, keyId === null ? credsRow(id) : keyRow(id, type, keyId)),
      current: (id: string, type: string, keyId: string | null, v: string) => current.encrypt(v, keyId === null ? credsRow(id) : keyRow(id, type, keyId)),
    };
    const ids: Record<keyof typeof forms, string> = { clear: '', v1: '', previous: '', current: '' };
    for (const form of Object.keys(forms) as Array<keyof typeof forms>) {
      const id = await session(`${prefix}-${form}`);
      ids[form] = id;
      const creds = JSON.stringify({ form, noiseKey: randomBytes(16).toString('base64') });
      const keys: Record<string, string> = {};
      for (let i = 0; i < keysPerSession; i++) keys[`pre-key/${i}`] = JSON.stringify({ form, i, private: randomBytes(8).toString('base64') });
      keys['session/5511999998888.0'] = JSON.stringify({ form, record: 'x'.repeat(2000) });
      plain.set(id, { creds, keys });
      await raw.saveCreds(id, forms[form](id, 'creds', null, creds));
      await raw.setKeys(
        id,
        Object.entries(keys).map(([k, v]) => {
          const [type, keyId] = k.split('/');
          return { type, id: keyId, value: forms[form](id, type, keyId, v) };
        }),
      );
    }
    return { ids, plain };
  }

  /** Reads every seeded value back through the store with the current key alone (no previous key). */
  async function expectReadable(currentKey: string, plain: Map<string, { creds: string; keys: Record<string, string> }>) {
    const cipher = AuthStateCipher.fromConfig(currentKey);
    const repository = new AuthStateRepository(prisma, configWith(currentKey));
    for (const [id, expected] of plain) {
      const store = createAuthStateStore(repository, cipher, id);
      expect(await store.loadCreds()).toBe(expected.creds);
      const byType = new Map<string, string[]>();
      for (const k of Object.keys(expected.keys)) {
        const [type, keyId] = k.split('/');
        byType.set(type, [...(byType.get(type) ?? []), keyId]);
      }
      for (const [type, keyIds] of byType) {
        const got = await store.getKeys(type, keyIds);
        expect(Object.fromEntries(Object.entries(got).map(([keyId, v]) => [`${type}/${keyId}`, v]))).toEqual(
          Object.fromEntries(Object.entries(expected.keys).filter(([k]) => k.startsWith(`${type}/`))),
        );
      }
    }
  }

  it('brings plain text, v1 and previous-key rows to v2 under the current key, readable through the store; a second run changes nothing', async () => {
    const oldKey = newKey();
    const currentKey = newKey();
    const { ids, plain } = await seedLegacy('legacy', oldKey, currentKey, 30);
    const all = Object.values(ids);
    const untouched = await storedValues([ids.current]);
    const prefix = AuthStateCipher.fromConfig(currentKey).currentPrefix!;

    // a batch of 7 forces many pages over creds and keys, boundaries inside sessions and types included
    const report = await taskFor(currentKey, oldKey).run({ batchSize: 7 });
    expect(report).toEqual({ reencrypted: 3 * 32, changedMeanwhile: 0, unreadable: 0, unreadableSessions: [], stopped: false });

    const after = await storedValues(all);
    expect(after.size).toBe(4 * 32);
    for (const [where, value] of after) expect({ where, current: value.startsWith(prefix) }).toEqual({ where, current: true });
    // values already current are not rewritten
    for (const [where, value] of untouched) expect(after.get(where)).toBe(value);
    await expectReadable(currentKey, plain);

    const again = await taskFor(currentKey, oldKey).run({ batchSize: 7 });
    expect(again).toEqual({ reencrypted: 0, changedMeanwhile: 0, unreadable: 0, unreadableSessions: [], stopped: false });
    expect(await storedValues(all)).toEqual(after);
  });

  it('is harmless when several replicas run it at once: each value is re-encrypted exactly once', async () => {
    const oldKey = newKey();
    const currentKey = newKey();
    const { ids, plain } = await seedLegacy('race', oldKey, currentKey, 300);
    const replicas = [new PrismaService(env.config), new PrismaService(env.config), new PrismaService(env.config)];
    try {
      const reports = await Promise.all(
        replicas.map((db) => taskFor(currentKey, oldKey, new AuthStateRepository(db, configWith(currentKey, oldKey))).run({ batchSize: 50 })),
      );
      // 3 stale sessions x (creds + 300 pre-keys + 1 session key); the compare-and-set lets one replica win each row
      expect(reports.reduce((n, r) => n + r.reencrypted, 0)).toBe(3 * 302);
      expect(reports.every((r) => r.unreadable === 0 && !r.stopped)).toBe(true);
    } finally {
      await Promise.all(replicas.map((db) => db.disconnect()));
    }
    const prefix = AuthStateCipher.fromConfig(currentKey).currentPrefix!;
    expect([...(await storedValues(Object.values(ids))).values()].every((v) => v.startsWith(prefix))).toBe(true);
    await expectReadable(currentKey, plain);
  });

  it('never overwrites a value a session wrote between the read of a page and its update', async () => {
    const key = newKey();
    const cipher = AuthStateCipher.fromConfig(key);
    const id = await session('live-writer');
    await raw.setKeys(id, [
      { type: 'session', id: 'a', value: 'old a' },
      { type: 'session', id: 'b', value: 'old b' },
    ]);
    const config = configWith(key);
    const live = createAuthStateStore(new AuthStateRepository(prisma, config), cipher, id);

    /** Repository whose page read is followed, before the task's update, by a write of the live session. */
    class RacingRepository extends AuthStateRepository {
      override async findKeysNotPrefixed(prefix: string, after: AuthKeyCursor | null, limit: number): Promise<StoredAuthKey[]> {
        const page = await super.findKeysNotPrefixed(prefix, after, limit);
        if (page.some((row) => row.sessionId === id && row.keyId === 'a')) await live.setKeys([{ type: 'session', id: 'a', value: 'newer a' }]);
        return page;
      }
    }
    const report = await taskFor(key, undefined, new RacingRepository(prisma, config)).run();
    expect(report).toMatchObject({ reencrypted: 1, changedMeanwhile: 1 });
    expect(await live.getKeys('session', ['a', 'b'])).toEqual({ a: 'newer a', b: 'old b' });
  });

  it('leaves values no configured key can decrypt as they are, and names their sessions', async () => {
    const key = newKey();
    const stranger = AuthStateCipher.fromConfig(newKey());
    const id = await session('unreadable');
    const value = stranger.encrypt('{"lost":true}', credsRow(id));
    await raw.saveCreds(id, value);
    await raw.setKeys(id, [{ type: 'pre-key', id: '1', value: 'in clear' }]);

    const report = await taskFor(key).run();
    expect(report).toEqual({ reencrypted: 1, changedMeanwhile: 0, unreadable: 1, unreadableSessions: [id], stopped: false });
    expect(await raw.loadCreds(id)).toBe(value);
    expect((await raw.getKeys(id, 'pre-key', ['1']))['1'].startsWith(AuthStateCipher.fromConfig(key).currentPrefix!)).toBe(true);
    await expect(createAuthStateStore(raw, AuthStateCipher.fromConfig(key), id).loadCreds()).rejects.toThrow(/encrypted with another key/);
  });

  it('with a key set, refuses to write anything that is not encrypted, in any write path, and writes nothing then', async () => {
    const key = newKey();
    const cipher = AuthStateCipher.fromConfig(key);
    const id = await session('refuse-plain');
    const guarded = new AuthStateRepository(prisma, configWith(key));
    const sealed = cipher.encrypt('{"ok":1}', credsRow(id));
    const v1 = encryptV1(key, 'v1');

    await expect(guarded.saveCreds(id, '{"plain":1}')).rejects.toThrow(UnencryptedAuthWriteError);
    await expect(guarded.saveCreds(id, v1)).rejects.toThrow('refusing to write auth state that is not encrypted while AUTH_STATE_KEY is set');
    expect(await raw.loadCreds(id)).toBeNull();

    await expect(
      guarded.setKeys(id, [
        { type: 'pre-key', id: '1', value: cipher.encrypt('x', keyRow(id, 'pre-key', '1')) },
        { type: 'pre-key', id: '2', value: 'plain' },
      ]),
    ).rejects.toThrow(UnencryptedAuthWriteError);
    expect(await raw.countKeys(id)).toBe(0);

    await raw.saveCreds(id, 'old plain');
    await raw.setKeys(id, [{ type: 'pre-key', id: '3', value: 'old plain' }]);
    await expect(guarded.replaceCreds([{ sessionId: id, from: 'old plain', to: 'still plain' }])).rejects.toThrow(UnencryptedAuthWriteError);
    await expect(guarded.replaceKeys([{ sessionId: id, type: 'pre-key', id: '3', from: 'old plain', to: 'still plain' }])).rejects.toThrow(
      UnencryptedAuthWriteError,
    );
    expect(await raw.loadCreds(id)).toBe('old plain');
    expect(await raw.getKeys(id, 'pre-key', ['3'])).toEqual({ 3: 'old plain' });

    // encrypted values and deletes pass; the store with the key only ever writes encrypted values
    await guarded.saveCreds(id, sealed);
    await guarded.setKeys(id, [{ type: 'pre-key', id: '3', value: null }]);
    const store = createAuthStateStore(guarded, cipher, id);
    await store.saveCreds('{"creds":2}');
    await store.setKeys([{ type: 'session', id: 's', value: '{"s":1}' }]);
    expect(await store.loadCreds()).toBe('{"creds":2}');
    expect(await store.getKeys('session', ['s'])).toEqual({ s: '{"s":1}' });
    expect(await raw.countKeys(id)).toBe(1);

    // without a key, plain text is still what is stored
    const unkeyed = new AuthStateRepository(prisma, configWith(undefined));
    await unkeyed.saveCreds(id, '{"plain":1}');
    expect(await raw.loadCreds(id)).toBe('{"plain":1}');
  });

  it('runs at bootstrap through the providers: /health/startup waits for it, and the stores then read the encrypted rows', async () => {
    const key = newKey();
    const id = await session('boot');
    await raw.saveCreds(id, '{"boot":1}');
    await raw.setKeys(id, [{ type: 'pre-key', id: '1', value: '{"k":1}' }]);
    const lifecycle = new LifecycleService();
    const config = configWith(key);

    const moduleRef = await Test.createTestingModule({
      providers: [
        { provide: APP_CONFIG, useValue: config },
        { provide: LifecycleService, useValue: lifecycle },
        PrismaService,
        ...authStateProviders(),
      ],
    }).compile();
    moduleRef.useLogger(false);
    const app = moduleRef;
    try {
      expect(lifecycle.startupPending).toContain(AUTH_STATE_ENCRYPTION_TASK);
      await app.init();
      await app.get(AuthStateEncryptionTask).whenDone();
      expect(lifecycle.startupPending).not.toContain(AUTH_STATE_ENCRYPTION_TASK);

      const prefix = AuthStateCipher.fromConfig(key).currentPrefix!;
      expect((await raw.loadCreds(id))!.startsWith(prefix)).toBe(true);
      expect((await raw.getKeys(id, 'pre-key', ['1']))['1'].startsWith(prefix)).toBe(true);
      const stores = app.get<AuthStateStores>(AUTH_STATE_STORES);
      expect(await stores.forSession(id).loadCreds()).toBe('{"boot":1}');
      // the repository the providers build refuses plain text: the key reached it
      await expect(app.get(AuthStateRepository).saveCreds(id, 'plain')).rejects.toThrow(UnencryptedAuthWriteError);
    } finally {
      await app.close();
    }
  });

  describe('with the real Baileys engine and the sandbox', () => {
    let network: SandboxNetwork;
    let engine: BaileysEngine;
    const open: EngineConnection[] = [];

    beforeAll(async () => {
      network = new SandboxNetwork({ deliveryReceiptMs: 20, readReceiptMs: 100 });
      await network.start();
      engine = new BaileysEngine({
        logLevel: 'silent',
        sandbox: { urlForSession: (name) => network.urlForSession(name), rootPublicKey: network.rootPublicKey },
      });
    });
    afterEach(async () => {
      await Promise.all(open.splice(0).map((c) => c.close()));
    });
    afterAll(async () => {
      await network?.close();
    });

    async function connect(name: string, sessionId: string, auth: AuthStateStore) {
      const events: EngineEvent[] = [];
      const connection = await engine.connect({ sessionId, sessionName: name, auth, onEvent: (e) => void events.push(e) });
      open.push(connection);
      return { connection, events, next: <T extends EngineEvent['type']>(type: T) => waitFor(() => events.find((e) => e.type === type), `${name}: ${type}`, 20_000) };
    }

    it('a session paired without a key reconnects, without a QR, after the boot task encrypted it and after a key rotation', async () => {
      const id = await session('engine-enc');
      const first = await connect('engine-enc', id, createAuthStateStore(raw, AuthStateCipher.fromConfig(undefined), id));
      const qr = (await first.next('qr')) as Extract<EngineEvent, { type: 'qr' }>;
      await network.scan('engine-enc', qr.value, { phone: '5511900000021' });
      await first.next('close');
      await first.connection.close();
      const second = await connect('engine-enc', id, createAuthStateStore(raw, AuthStateCipher.fromConfig(undefined), id));
      await second.next('open');
      await waitFor(async () => (await raw.countKeys(id, 'pre-key')) >= 800, 'pre-keys stored');
      await second.connection.close();
      expect(await raw.loadCreds(id)).toContain('"account"');

      const key1 = newKey();
      const first_run = await taskFor(key1).run(); // default batch of 500: the ~812 pre-keys span pages
      expect(first_run.reencrypted).toBe((await storedValues([id])).size);
      const third = await connect('engine-enc', id, createAuthStateStore(new AuthStateRepository(prisma, configWith(key1)), AuthStateCipher.fromConfig(key1), id));
      await third.next('open');
      expect(third.events.some((e) => e.type === 'qr')).toBe(false);
      await third.connection.close();

      const key2 = newKey();
      expect((await taskFor(key2, key1).run()).unreadable).toBe(0);
      const prefix = AuthStateCipher.fromConfig(key2).currentPrefix!;
      expect([...(await storedValues([id])).values()].every((v) => v.startsWith(prefix))).toBe(true);
      const fourth = await connect('engine-enc', id, createAuthStateStore(new AuthStateRepository(prisma, configWith(key2)), AuthStateCipher.fromConfig(key2), id));
      expect(((await fourth.next('open')) as Extract<EngineEvent, { type: 'open' }>).me.phone).toBe('5511900000021');
      expect(fourth.events.some((e) => e.type === 'qr')).toBe(false);
    });
  });
});
