import type { AuthStateStore } from '../engine/whatsapp-engine.port';
import type { AuthStateCipher } from './auth-state-cipher';
import type { AuthStateRepository } from './auth-state.repository';

/** The repository methods the store needs (lets unit tests pass a fake). */
export type AuthStateRepositoryLike = Pick<AuthStateRepository, 'loadCreds' | 'saveCreds' | 'getKeys' | 'setKeys' | 'clear'>;

/**
 * The engine's AuthStateStore for one session, backed by PostgreSQL and
 * encrypted at rest when a key is configured. Every failure propagates: a
 * read that fails (database down, wrong key) rejects, so the engine fails the
 * start instead of minting fresh credentials over a session that exists.
 */
export function createAuthStateStore(repository: AuthStateRepositoryLike, cipher: AuthStateCipher, sessionId: string): AuthStateStore {
  return {
    async loadCreds() {
      const stored = await repository.loadCreds(sessionId);
      return stored === null ? null : cipher.decrypt(stored);
    },
    async saveCreds(serialized) {
      await repository.saveCreds(sessionId, cipher.encrypt(serialized));
    },
    async getKeys(type, ids) {
      const stored = await repository.getKeys(sessionId, type, ids);
      const result: Record<string, string> = {};
      for (const [id, value] of Object.entries(stored)) result[id] = cipher.decrypt(value);
      return result;
    },
    async setKeys(entries) {
      await repository.setKeys(
        sessionId,
        entries.map((e) => ({ type: e.type, id: e.id, value: e.value === null ? null : cipher.encrypt(e.value) })),
      );
    },
    async clear() {
      await repository.clear(sessionId);
    },
  };
}
