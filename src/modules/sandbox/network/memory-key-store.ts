import type { SignalDataSet, SignalDataTypeMap, SignalKeyStore } from '@whiskeysockets/baileys';

/**
 * Baileys Signal key store kept in a Map (values stay live objects, so no
 * BufferJSON round trip is needed). Used by the sandbox's fake contacts and by
 * test clients; ZapHub sessions keep theirs in PostgreSQL.
 */
export class MemorySignalKeyStore implements SignalKeyStore {
  private readonly data = new Map<string, unknown>();

  get size(): number {
    return this.data.size;
  }

  /** Number of stored entries of one type (e.g. 'pre-key'). */
  count(type: keyof SignalDataTypeMap): number {
    let n = 0;
    for (const key of this.data.keys()) if (key.startsWith(`${type}:`)) n++;
    return n;
  }

  async get<T extends keyof SignalDataTypeMap>(type: T, ids: string[]): Promise<{ [id: string]: SignalDataTypeMap[T] }> {
    const result: { [id: string]: SignalDataTypeMap[T] } = {};
    for (const id of ids) {
      const value = this.data.get(`${type}:${id}`);
      if (value !== undefined) result[id] = value as SignalDataTypeMap[T];
    }
    return result;
  }

  async set(data: SignalDataSet): Promise<void> {
    for (const type of Object.keys(data) as Array<keyof SignalDataSet>) {
      const entries = data[type] ?? {};
      for (const [id, value] of Object.entries(entries)) {
        if (value === null || value === undefined) this.data.delete(`${type}:${id}`);
        else this.data.set(`${type}:${id}`, value);
      }
    }
  }

  async clear(): Promise<void> {
    this.data.clear();
  }
}
