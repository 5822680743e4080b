import type { Provider } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../../../config';
import { AUTH_STATE_STORES, type AuthStateStores } from '../runtime/auth-state-stores';
import { AUTH_STATE_CIPHER, AuthStateCipher } from './auth-state-cipher';
import { AuthStateEncryptionTask } from './auth-state-encryption.task';
import { AuthStateRepository } from './auth-state.repository';
import { createAuthStateStore } from './postgres-auth-state.store';

/**
 * Worker-side providers of the auth state: repository, cipher (current and
 * previous key), per-session stores (encrypted when keyed), and the boot task
 * that encrypts what is still stored in clear or under an old key.
 */
export function authStateProviders(): Provider[] {
  return [
    AuthStateRepository,
    {
      provide: AUTH_STATE_CIPHER,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => AuthStateCipher.fromConfig(config.AUTH_STATE_KEY, config.AUTH_STATE_KEY_PREVIOUS),
    },
    {
      provide: AUTH_STATE_STORES,
      inject: [AuthStateRepository, AUTH_STATE_CIPHER],
      useFactory: (repository: AuthStateRepository, cipher: AuthStateCipher): AuthStateStores => ({
        forSession: (sessionId) => createAuthStateStore(repository, cipher, sessionId),
        wipe: (sessionId) => repository.clear(sessionId),
      }),
    },
    AuthStateEncryptionTask,
  ];
}
