import type { AuthStateStore } from '../engine/whatsapp-engine.port';

/** Gives the runtime a session's persistent auth state, and wipes it (logout, 401, delete). */
export interface AuthStateStores {
  forSession(sessionId: string): AuthStateStore;
  wipe(sessionId: string): Promise<void>;
}

export const AUTH_STATE_STORES = Symbol('AUTH_STATE_STORES');
