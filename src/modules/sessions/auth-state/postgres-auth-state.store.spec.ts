import { createCipheriv, randomBytes } from 'node:crypto';
import { AuthStateCipher, credsRow, keyRow } from './auth-state-cipher';
import type { AuthKeyWrite } from './auth-state.repository';
import { createAuthStateStore, type AuthStateRepositoryLike, type AuthStateStoreLogger } from './postgres-auth-state.store';

function fakeRepository() {
  const creds = new Map<string, string>();
  const keys = new Map<string, string>();
  const calls = { replaceCreds: 0, replaceKeys: 0 };
  const repo: AuthStateRepositoryLike = {
    loadCreds: async (sessionId) => creds.get(sessionId) ?? null,
    saveCreds: async (sessionId, data) => void creds.set(sessionId, data),
    getKeys: async (sessionId, type, ids) =>
      Object.fromEntries(ids.flatMap((id) => (keys.has(`${sessionId}/${type}/${id}`) ? [[id, keys.get(`${sessionId}/${type}/${id}`)!]] : []))),
    setKeys: async (sessionId, writes: AuthKeyWrite[]) => {
      for (const w of writes) {
        if (w.value === null) keys.delete(`${sessionId}/${w.type}/${w.id}`);
        else keys.set(`${sessionId}/${w.type}/${w.id}`, w.value);
      }
    },
    clear: async (sessionId) => {
      creds.delete(sessionId);
      for (const k of [...keys.keys()]) if (k.startsWith(`${sessionId}/`)) keys.delete(k);
    },
    // compare-and-set, like the real repository
    replaceCreds: async (replacements) => {
      calls.replaceCreds++;
      let n = 0;
      for (const r of replacements) {
        if (creds.get(r.sessionId) === r.from) {
          creds.set(r.sessionId, r.to);
          n++;
        }
      }
      return n;
    },
    replaceKeys: async (replacements) => {
      calls.replaceKeys++;
      let n = 0;
      for (const r of replacements) {
        const k = `${r.sessionId}/${r.type}/${r.id}`;
        if (keys.get(k) === r.from) {
          keys.set(k, r.to);
          n++;
        }
      }
      return n;
    },
  };
  return { repo, creds, keys, calls };
}

function encryptV1(key: Buffer, plain: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const ct = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
  return `enc:v1:${iv.toString('base64')}:${cipher.getAuthTag().toString('base64')}:${ct.toString('base64')}`;
}

const silent: AuthStateStoreLogger = { error: () => undefined };

describe('createAuthStateStore', () => {
  const key = randomBytes(32).toString('base64');

  it('returns null creds for a new session and round-trips encrypted values bound to their rows', async () => {
    const { repo, creds, keys } = fakeRepository();
    const cipher = AuthStateCipher.fromConfig(key);
    const store = createAuthStateStore(repo, cipher, 's1');
    expect(await store.loadCreds()).toBeNull();
    await store.saveCreds('{"a":1}');
    expect(creds.get('s1')!.startsWith(cipher.currentPrefix!)).toBe(true);
    expect(cipher.decrypt(creds.get('s1')!, credsRow('s1'))).toBe('{"a":1}');
    expect(await store.loadCreds()).toBe('{"a":1}');

    await store.setKeys([
      { type: 'pre-key', id: '1', value: 'one' },
      { type: 'pre-key', id: '2', value: 'two' },
    ]);
    expect([...keys.values()].every((v) => v.startsWith(cipher.currentPrefix!))).toBe(true);
    expect(cipher.decrypt(keys.get('s1/pre-key/2')!, keyRow('s1', 'pre-key', '2'))).toBe('two');
    expect(await store.getKeys('pre-key', ['1', '2', '3'])).toEqual({ 1: 'one', 2: 'two' });
    await store.setKeys([{ type: 'pre-key', id: '1', value: null }]);
    expect(await store.getKeys('pre-key', ['1', '2'])).toEqual({ 2: 'two' });
    await store.clear();
    expect(await store.loadCreds()).toBeNull();
    expect(keys.size).toBe(0);
  });

  it('refuses a value copied from another session', async () => {
    const { repo, keys } = fakeRepository();
    const cipher = AuthStateCipher.fromConfig(key);
    await createAuthStateStore(repo, cipher, 's1').setKeys([{ type: 'session', id: 'x', value: 'secret of s1' }]);
    keys.set('s2/session/x', keys.get('s1/session/x')!);
    await expect(createAuthStateStore(repo, cipher, 's2').getKeys('session', ['x'])).rejects.toThrow(/moved from another row or session/);
  });

  it('re-encrypts on read what is in clear, in v1 or under the previous key, and returns the plain values', async () => {
    const { repo, creds, keys, calls } = fakeRepository();
    const oldKey = randomBytes(32);
    const before = AuthStateCipher.fromConfig(oldKey.toString('base64'));
    const cipher = AuthStateCipher.fromConfig(key, oldKey.toString('base64'));
    creds.set('s1', '{"creds":"in clear"}');
    keys.set('s1/pre-key/1', 'clear');
    keys.set('s1/pre-key/2', encryptV1(oldKey, 'v1 under the old key'));
    keys.set('s1/pre-key/3', before.encrypt('v2 under the old key', keyRow('s1', 'pre-key', '3')));
    keys.set('s1/pre-key/4', cipher.encrypt('current', keyRow('s1', 'pre-key', '4')));
    const current = keys.get('s1/pre-key/4');

    const store = createAuthStateStore(repo, cipher, 's1', silent);
    expect(await store.loadCreds()).toBe('{"creds":"in clear"}');
    expect(await store.getKeys('pre-key', ['1', '2', '3', '4'])).toEqual({
      1: 'clear',
      2: 'v1 under the old key',
      3: 'v2 under the old key',
      4: 'current',
    });
    expect(creds.get('s1')!.startsWith(cipher.currentPrefix!)).toBe(true);
    for (const id of ['1', '2', '3', '4']) expect(keys.get(`s1/pre-key/${id}`)!.startsWith(cipher.currentPrefix!)).toBe(true);
    expect(keys.get('s1/pre-key/4')).toBe(current); // already current: not rewritten
    expect(calls).toEqual({ replaceCreds: 1, replaceKeys: 1 }); // one batched write for the whole read

    // the rewritten values read back without any further write
    expect(await store.getKeys('pre-key', ['1', '2', '3', '4'])).toEqual({ 1: 'clear', 2: 'v1 under the old key', 3: 'v2 under the old key', 4: 'current' });
    expect(await store.loadCreds()).toBe('{"creds":"in clear"}');
    expect(calls).toEqual({ replaceCreds: 1, replaceKeys: 1 });
    // and the new key alone reads them
    expect(await createAuthStateStore(repo, AuthStateCipher.fromConfig(key), 's1').getKeys('pre-key', ['3'])).toEqual({ 3: 'v2 under the old key' });
  });

  it('does not rewrite plain text when no key is configured', async () => {
    const { repo, creds, calls } = fakeRepository();
    creds.set('s1', '{"a":1}');
    expect(await createAuthStateStore(repo, AuthStateCipher.fromConfig(undefined), 's1').loadCreds()).toBe('{"a":1}');
    expect(creds.get('s1')).toBe('{"a":1}');
    expect(calls).toEqual({ replaceCreds: 0, replaceKeys: 0 });
  });

  it('logs a failed re-encryption and still returns what it read', async () => {
    const { repo, creds, keys } = fakeRepository();
    creds.set('s1', '{"a":1}');
    keys.set('s1/session/x', 'clear');
    repo.replaceCreds = async () => {
      throw new Error('database is read-only');
    };
    repo.replaceKeys = repo.replaceCreds;
    const errors: unknown[][] = [];
    const store = createAuthStateStore(repo, AuthStateCipher.fromConfig(key), 's1', { error: (...args: unknown[]) => void errors.push(args) });
    expect(await store.loadCreds()).toBe('{"a":1}');
    expect(await store.getKeys('session', ['x'])).toEqual({ x: 'clear' });
    expect(errors).toHaveLength(2);
    expect(errors[0]).toEqual([
      { err: expect.objectContaining({ message: 'database is read-only' }), sessionId: 's1' },
      expect.stringMatching(/^re-encrypting creds under the current AUTH_STATE_KEY failed/),
    ]);
    expect(JSON.stringify(errors)).not.toContain('{"a":1}');
  });

  it('never overwrites a value written between its read and the re-encryption', async () => {
    const { repo, keys } = fakeRepository();
    const cipher = AuthStateCipher.fromConfig(key);
    keys.set('s1/session/x', 'old in clear');
    const read = repo.getKeys;
    repo.getKeys = async (...args) => {
      const result = await read(...args);
      // the session writes a newer value right after the read
      keys.set('s1/session/x', cipher.encrypt('newer', keyRow('s1', 'session', 'x')));
      return result;
    };
    const store = createAuthStateStore(repo, cipher, 's1', silent);
    expect(await store.getKeys('session', ['x'])).toEqual({ x: 'old in clear' });
    repo.getKeys = read;
    expect(await store.getKeys('session', ['x'])).toEqual({ x: 'newer' });
  });

  it('rejects reads it cannot decrypt instead of returning nothing, and writes nothing then', async () => {
    const { repo, calls } = fakeRepository();
    await createAuthStateStore(repo, AuthStateCipher.fromConfig(key), 's1').saveCreds('{"a":1}');
    await createAuthStateStore(repo, AuthStateCipher.fromConfig(key), 's1').setKeys([
      { type: 'session', id: 'x', value: 'v' },
      { type: 'session', id: 'y', value: 'w' },
    ]);
    await repo.setKeys('s1', [{ type: 'session', id: 'z', value: 'in clear' }]);
    const wrong = createAuthStateStore(repo, AuthStateCipher.fromConfig(randomBytes(32).toString('hex')), 's1');
    await expect(wrong.loadCreds()).rejects.toThrow(/wrong AUTH_STATE_KEY/);
    await expect(wrong.getKeys('session', ['x', 'y', 'z'])).rejects.toThrow(/wrong AUTH_STATE_KEY/);
    expect(calls).toEqual({ replaceCreds: 0, replaceKeys: 0 });
  });

  it('propagates repository failures', async () => {
    const { repo } = fakeRepository();
    repo.loadCreds = async () => {
      throw new Error('connection refused');
    };
    await expect(createAuthStateStore(repo, AuthStateCipher.fromConfig(undefined), 's1').loadCreds()).rejects.toThrow('connection refused');
  });
});
