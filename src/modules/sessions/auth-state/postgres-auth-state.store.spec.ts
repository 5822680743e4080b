import { randomBytes } from 'node:crypto';
import { AuthStateCipher } from './auth-state-cipher';
import type { AuthKeyWrite } from './auth-state.repository';
import { createAuthStateStore, type AuthStateRepositoryLike } from './postgres-auth-state.store';

function fakeRepository() {
  const creds = new Map<string, string>();
  const keys = new Map<string, string>();
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
  };
  return { repo, creds, keys };
}

describe('createAuthStateStore', () => {
  const key = randomBytes(32).toString('base64');

  it('returns null creds for a new session and round-trips encrypted values', async () => {
    const { repo, creds, keys } = fakeRepository();
    const store = createAuthStateStore(repo, AuthStateCipher.fromConfig(key), 's1');
    expect(await store.loadCreds()).toBeNull();
    await store.saveCreds('{"a":1}');
    expect(creds.get('s1')).toMatch(/^enc:v1:/);
    expect(await store.loadCreds()).toBe('{"a":1}');

    await store.setKeys([
      { type: 'pre-key', id: '1', value: 'one' },
      { type: 'pre-key', id: '2', value: 'two' },
    ]);
    expect([...keys.values()].every((v) => v.startsWith('enc:v1:'))).toBe(true);
    expect(await store.getKeys('pre-key', ['1', '2', '3'])).toEqual({ 1: 'one', 2: 'two' });
    await store.setKeys([{ type: 'pre-key', id: '1', value: null }]);
    expect(await store.getKeys('pre-key', ['1', '2'])).toEqual({ 2: 'two' });
    await store.clear();
    expect(await store.loadCreds()).toBeNull();
    expect(keys.size).toBe(0);
  });

  it('rejects reads it cannot decrypt instead of returning nothing', async () => {
    const { repo } = fakeRepository();
    await createAuthStateStore(repo, AuthStateCipher.fromConfig(key), 's1').saveCreds('{"a":1}');
    await createAuthStateStore(repo, AuthStateCipher.fromConfig(key), 's1').setKeys([{ type: 'session', id: 'x', value: 'v' }]);
    const wrong = createAuthStateStore(repo, AuthStateCipher.fromConfig(randomBytes(32).toString('hex')), 's1');
    await expect(wrong.loadCreds()).rejects.toThrow(/wrong AUTH_STATE_KEY/);
    await expect(wrong.getKeys('session', ['x'])).rejects.toThrow(/wrong AUTH_STATE_KEY/);
  });

  it('propagates repository failures', async () => {
    const { repo } = fakeRepository();
    repo.loadCreds = async () => {
      throw new Error('connection refused');
    };
    await expect(createAuthStateStore(repo, AuthStateCipher.fromConfig(undefined), 's1').loadCreds()).rejects.toThrow('connection refused');
  });
});
