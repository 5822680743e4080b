import type { Provider } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../../../config';
import { AUTH_STATE_STORES, type AuthStateStores } from '../runtime/auth-state-stores';
import { AuthStateCipher } from './auth-state-cipher';
import { AuthStateRepository } from './auth-state.repository';
import { createAuthStateStore } from './postgres-auth-state.store';

/** Worker-side providers of the auth state: repository, per-session stores (encrypted when keyed). */
export function authStateProviders(): Provider[] {
  return [
    AuthStateRepository,
    {
      provide: AUTH_STATE_STORES,
      inject: [AuthStateRepository, APP_CONFIG],
      useFactory: (repository: AuthStateRepository, config: AppConfig): AuthStateStores => {
        const cipher = AuthStateCipher.fromConfig(config.AUTH_STATE_KEY);
        return {
          forSession: (sessionId) => createAuthStateStore(repository, cipher, sessionId),
          wipe: (sessionId) => repository.clear(sessionId),
        };
      },
    },
  ];
}
