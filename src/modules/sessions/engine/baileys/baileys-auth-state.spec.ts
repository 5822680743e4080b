import { proto } from '@whiskeysockets/baileys';
import type { AuthStateStore } from '../whatsapp-engine.port';
import { loadBaileysAuthState, makeStoreKeyStore, parseAuthValue, serializeAuthValue, type BaileysLogger } from './baileys-auth-state';
import { BoundedCacheStore } from './bounded-cache.store';

const silent = { level: 'silent', child: () => silent, trace() {}, debug() {}, info() {}, warn() {}, error() {} } as unknown as BaileysLogger;

function memoryStore() {
  const keys = new Map<string, string>();
  const calls = { getKeys: 0, setKeys: [] as Array<Array<{ type: string; id: string; value: string | null }>> };
  let creds: string | null = null;
  const store: AuthStateStore = {
    loadCreds: async () => creds,
    saveCreds: async (s) => void (creds = s),
    getKeys: async (type, ids) => {
      calls.getKeys++;
      return Object.fromEntries(ids.flatMap((id) => (keys.has(`${type}/${id}`) ? [[id, keys.get(`${type}/${id}`)!]] : [])));
    },
    setKeys: async (entries) => {
      calls.setKeys.push(entries);
      for (const e of entries) {
        if (e.value === null) keys.delete(`${e.type}/${e.id}`);
        else keys.set(`${e.type}/${e.id}`, e.value);
      }
    },
    clear: async () => undefined,
  };
  return { store, keys, calls, creds: () => creds };
}

describe('loadBaileysAuthState', () => {
  it('mints creds only for a session without stored creds, and round-trips them with their Buffers', async () => {
    const { store, creds } = memoryStore();
    const fresh = await loadBaileysAuthState(store, new BoundedCacheStore(100, 60_000), silent);
    expect(fresh.isNew).toBe(true);
    expect(Buffer.isBuffer(fresh.state.creds.noiseKey.private)).toBe(true);
    await fresh.saveCreds();
    const again = await loadBaileysAuthState(store, new BoundedCacheStore(100, 60_000), silent);
    expect(again.isNew).toBe(false);
    expect(Buffer.compare(again.state.creds.noiseKey.private, fresh.state.creds.noiseKey.private)).toBe(0);
    expect(again.state.creds.advSecretKey).toBe(fresh.state.creds.advSecretKey);
    expect(creds()).toBe(again.serializeCreds());
  });

  it('rejects when the creds cannot be read, instead of minting new ones', async () => {
    const { store } = memoryStore();
    store.loadCreds = async () => {
      throw new Error('db down');
    };
    await expect(loadBaileysAuthState(store, new BoundedCacheStore(100, 60_000), silent)).rejects.toThrow('db down');
  });

  it('reads keys in one batch, revives app-state-sync-key as protobuf, and deletes on null in one write', async () => {
    const { store, keys, calls } = memoryStore();
    const { state } = await loadBaileysAuthState(store, new BoundedCacheStore(100, 60_000), silent);
    await state.keys.set({
      'pre-key': { 1: { public: Buffer.from([1]), private: Buffer.from([2]) }, 2: { public: Buffer.from([3]), private: Buffer.from([4]) } },
      'app-state-sync-key': { AAA: { keyData: Buffer.from([9, 9]), timestamp: 5 } as proto.Message.IAppStateSyncKeyData },
    });
    expect(calls.setKeys).toHaveLength(1);
    expect(parseAuthValue<{ public: Buffer }>(keys.get('pre-key/1')!).public).toEqual(Buffer.from([1]));

    // a fresh state (empty cache) reads from the store
    const reloaded = await loadBaileysAuthState(store, new BoundedCacheStore(100, 60_000), silent);
    const preKeys = await reloaded.state.keys.get('pre-key', ['1', '2', '3']);
    expect(calls.getKeys).toBe(1);
    expect(Object.keys(preKeys).sort()).toEqual(['1', '2']);
    expect(Buffer.isBuffer(preKeys['2'].private)).toBe(true);
    const syncKeys = await reloaded.state.keys.get('app-state-sync-key', ['AAA']);
    expect(syncKeys.AAA).toBeInstanceOf(proto.Message.AppStateSyncKeyData);
    expect(Buffer.from(syncKeys.AAA.keyData!)).toEqual(Buffer.from([9, 9]));

    await reloaded.state.keys.set({ 'pre-key': { 1: null } });
    expect(calls.setKeys.at(-1)).toEqual([{ type: 'pre-key', id: '1', value: null }]);
    expect(keys.has('pre-key/1')).toBe(false);
  });

  it('serializes binary values as BufferJSON text', () => {
    expect(serializeAuthValue({ k: Buffer.from([1, 2, 3]) })).toBe('{"k":{"type":"Buffer","data":"AQID"}}');
  });
});

describe('key writes held while inbound messages are unrecorded', () => {
  it('reads see a deferred write (and a deferred delete) until it is stored', async () => {
    const { store, keys } = memoryStore();
    keys.set('session/a', serializeAuthValue({ v: 'old' }));
    keys.set('session/b', serializeAuthValue({ v: 'b' }));
    const runs: Array<() => Promise<void>> = [];
    const ks = makeStoreKeyStore(store);
    ks.holdWritesWith({ deferWrite: (run) => (runs.push(run), true) });
    await ks.set({ session: { a: { v: 'new' } as never, b: null } });
    expect(keys.get('session/a')).toBe(serializeAuthValue({ v: 'old' })); // not stored yet
    expect(await ks.get('session', ['a', 'b'])).toEqual({ a: { v: 'new' } });
    await runs[0]!();
    expect(keys.get('session/a')).toBe(serializeAuthValue({ v: 'new' }));
    expect(keys.has('session/b')).toBe(false);
    expect(await ks.get('session', ['a', 'b'])).toEqual({ a: { v: 'new' } });
  });

  it('writes at once when the hold has nothing pending', async () => {
    const { store, keys } = memoryStore();
    const ks = makeStoreKeyStore(store);
    ks.holdWritesWith({ deferWrite: () => false });
    await ks.set({ session: { a: { v: 1 } as never } });
    expect(keys.get('session/a')).toBe(serializeAuthValue({ v: 1 }));
  });
});

describe('keys known to be absent', () => {
  it('asks the store once for a key it does not have, and again only after the key is written', async () => {
    const { store, calls } = memoryStore();
    const ks = makeStoreKeyStore(store);
    expect(await ks.get('tctoken', ['contact'])).toEqual({});
    expect(await ks.get('tctoken', ['contact'])).toEqual({});
    expect(calls.getKeys).toBe(1);
    await ks.set({ tctoken: { contact: { token: Buffer.from('t') } as never } });
    expect(await ks.get('tctoken', ['contact'])).toEqual({ contact: { token: Buffer.from('t') } });
    expect(calls.getKeys).toBe(2);
    await ks.set({ tctoken: { contact: null } });
    expect(await ks.get('tctoken', ['contact'])).toEqual({});
    expect(await ks.get('tctoken', ['contact'])).toEqual({});
    expect(calls.getKeys).toBe(3);
  });

  it('does not remember a miss read while the key was being written', async () => {
    const { store, keys } = memoryStore();
    let finishWrite!: () => void;
    const slowStore: AuthStateStore = {
      ...store,
      // The write lands only when the test says: a read meanwhile sees the store without it.
      setKeys: (entries) => new Promise<void>((resolve, reject) => (finishWrite = () => void store.setKeys(entries).then(resolve, reject))),
    };
    const ks = makeStoreKeyStore(slowStore);
    const writing = ks.set({ 'sender-key': { group: { k: 1 } as never } });
    expect(await ks.get('sender-key', ['group'])).toEqual({}); // read before the write landed
    finishWrite();
    await writing;
    expect(keys.has('sender-key/group')).toBe(true);
    expect(await ks.get('sender-key', ['group'])).toEqual({ group: { k: 1 } });
  });

  it('does not remember a miss read just before a write of the key landed', async () => {
    const { store } = memoryStore();
    const read = store.getKeys.bind(store);
    let releaseRead: (() => void) | null = null;
    const readStarted = new Promise<void>((started) => {
      let first = true;
      store.getKeys = async (type, ids) => {
        const snapshot = await read(type, ids); // what PostgreSQL saw, before the write below
        if (!first) return snapshot;
        first = false;
        started();
        await new Promise<void>((resolve) => (releaseRead = resolve));
        return snapshot;
      };
    });
    const ks = makeStoreKeyStore(store);
    const slowRead = ks.get('session', ['peer']);
    await readStarted;
    await ks.set({ session: { peer: { s: 1 } as never } }); // lands while the read is out
    releaseRead!();
    expect(await slowRead).toEqual({});
    expect(await ks.get('session', ['peer'])).toEqual({ peer: { s: 1 } });
  });
});
