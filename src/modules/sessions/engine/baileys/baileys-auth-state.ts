import {
  BufferJSON,
  initAuthCreds,
  makeCacheableSignalKeyStore,
  proto,
  type AuthenticationCreds,
  type AuthenticationState,
  type CacheStore,
  type SignalDataSet,
  type SignalDataTypeMap,
  type SignalKeyStore,
} from '@whiskeysockets/baileys';
import { LRUCache } from 'lru-cache';
import type { AuthStateStore } from '../whatsapp-engine.port';

/** Baileys' logger interface (not exported from the package root). */
export type BaileysLogger = NonNullable<Parameters<typeof makeCacheableSignalKeyStore>[1]>;

export interface BaileysAuthState {
  state: AuthenticationState;
  /** true when the store had no creds: a brand new session that will pair. */
  isNew: boolean;
  /** The creds as stored: BufferJSON text of the live creds object. */
  serializeCreds(): string;
  saveCreds(): Promise<void>;
  /** Key-store reads and writes still running (Baileys keeps writing briefly after a close). */
  keyOpsInFlight(): number;
  /** From now on, key writes go through `hold` (see InboundCommitGate.deferWrite). */
  holdKeyWritesWith(hold: KeyWriteHold): void;
}

/** Defers a write while inbound messages are unrecorded: false = nothing to wait for, write now. */
export interface KeyWriteHold {
  deferWrite(run: () => Promise<void>): boolean;
}

/**
 * Keys known to be absent, per socket. Baileys' cacheable store keeps only keys it found, so a key
 * that does not exist is asked of PostgreSQL on every use: Baileys 7 reads the recipient's
 * `tctoken` on every send, and most contacts have none (one SELECT per message for nothing).
 */
const KNOWN_ABSENT = { max: 5_000, ttlMs: 5 * 60_000 } as const;

export const serializeAuthValue = (value: unknown): string => JSON.stringify(value, BufferJSON.replacer);

export const parseAuthValue = <T>(text: string): T => JSON.parse(text, BufferJSON.reviver) as T;

/**
 * Baileys' key store over the engine's AuthStateStore: one batched read per
 * `get`, one transaction per `set` (null or undefined deletes, as in Baileys'
 * own stores). `app-state-sync-key` values must be revived as protobuf
 * objects, as useMultiFileAuthState does, or app-state sync fails.
 *
 * A key PostgreSQL did not have is remembered as absent (bounded, expiring)
 * until this store writes it: a session's keys have one writer, its owner's
 * socket, which is this store. A read that overlaps a write of the same key
 * does not remember its miss (it may have read before the write landed).
 */
export function makeStoreKeyStore(store: AuthStateStore): SignalKeyStore & { inFlight(): number; holdWritesWith(hold: KeyWriteHold): void } {
  let inFlight = 0;
  let hold: KeyWriteHold | null = null;
  /**
   * Deferred writes not stored yet, `${type}\u0000${id}` -> serialized value (null: deleted) and the
   * number of the write that set it: reads see them, so a deferral never shows stale keys.
   */
  const unstored = new Map<string, { value: string | null; write: number }>();
  let writes = 0;
  const absent = new LRUCache<string, true>({ max: KNOWN_ABSENT.max, ttl: KNOWN_ABSENT.ttlMs, ttlAutopurge: false, updateAgeOnGet: false });
  /** Writes of a key asked for and not stored yet (a read meanwhile may miss what is about to be there). */
  const writing = new Map<string, number>();
  /** Keys stored so far, and when each recent one was (in that count): a read that began earlier may have missed it. */
  let keysStored = 0;
  const storedAt = new LRUCache<string, number>({ max: KNOWN_ABSENT.max });
  const track = async <T>(op: () => Promise<T>): Promise<T> => {
    inFlight++;
    try {
      return await op();
    } finally {
      inFlight--;
    }
  };
  return {
    inFlight: () => inFlight,
    holdWritesWith: (h) => (hold = h),
    async get<T extends keyof SignalDataTypeMap>(type: T, ids: string[]) {
      const overlay: Record<string, string | null> = {};
      for (const id of ids) {
        const entry = unstored.get(`${type}\u0000${id}`);
        if (entry) overlay[id] = entry.value;
      }
      const toRead = ids.filter((id) => !(id in overlay) && !absent.has(`${type}\u0000${id}`));
      const readFrom = keysStored;
      const stored = toRead.length ? await track(() => store.getKeys(type, toRead)) : {};
      // (More keys stored meanwhile than storedAt holds: it may have forgotten one of them.)
      const storesKnown = keysStored - readFrom < KNOWN_ABSENT.max;
      for (const id of toRead) {
        const key = `${type}\u0000${id}`;
        if (storesKnown && !(id in stored) && !writing.has(key) && (storedAt.get(key) ?? 0) <= readFrom) absent.set(key, true);
      }
      for (const [id, value] of Object.entries(overlay)) if (value !== null) stored[id] = value;
      const result: { [id: string]: SignalDataTypeMap[T] } = {};
      for (const [id, text] of Object.entries(stored)) {
        let value = parseAuthValue<SignalDataTypeMap[T]>(text);
        if (type === 'app-state-sync-key' && value) {
          value = proto.Message.AppStateSyncKeyData.fromObject(value as object) as unknown as SignalDataTypeMap[T];
        }
        result[id] = value;
      }
      return result;
    },
    async set(data: SignalDataSet) {
      const entries: Array<{ type: string; id: string; value: string | null }> = [];
      for (const type of Object.keys(data) as (keyof SignalDataSet)[]) {
        const byId = data[type] ?? {};
        for (const [id, value] of Object.entries(byId)) {
          entries.push({ type, id, value: value ? serializeAuthValue(value) : null });
        }
      }
      if (!entries.length) return;
      const write = ++writes;
      for (const e of entries) {
        const key = `${e.type}\u0000${e.id}`;
        absent.delete(key);
        writing.set(key, (writing.get(key) ?? 0) + 1);
      }
      const run = () => track(() => store.setKeys(entries)).finally(() => {
        for (const e of entries) {
          const key = `${e.type}\u0000${e.id}`;
          if (unstored.get(key)?.write === write) unstored.delete(key);
          const left = (writing.get(key) ?? 1) - 1;
          if (left > 0) writing.set(key, left);
          else writing.delete(key);
          storedAt.set(key, ++keysStored);
        }
      });
      if (hold?.deferWrite(run)) {
        for (const e of entries) unstored.set(`${e.type}\u0000${e.id}`, { value: e.value, write });
        return;
      }
      await run();
    },
  };
}

/**
 * Loads a session's Baileys auth state. Fresh creds are minted only when the
 * store says the session has none; a failed read rejects (the start fails
 * rather than overwriting a linked device with a new identity).
 */
export async function loadBaileysAuthState(store: AuthStateStore, keyCache: CacheStore, logger: BaileysLogger): Promise<BaileysAuthState> {
  const stored = await store.loadCreds();
  const creds: AuthenticationCreds = stored === null ? initAuthCreds() : parseAuthValue<AuthenticationCreds>(stored);
  const storeKeys = makeStoreKeyStore(store);
  const keys = makeCacheableSignalKeyStore(storeKeys, logger, keyCache);
  const serializeCreds = () => serializeAuthValue(creds);
  return {
    state: { creds, keys },
    isNew: stored === null,
    serializeCreds,
    saveCreds: () => store.saveCreds(serializeCreds()),
    keyOpsInFlight: () => storeKeys.inFlight(),
    holdKeyWritesWith: (hold) => storeKeys.holdWritesWith(hold),
  };
}
