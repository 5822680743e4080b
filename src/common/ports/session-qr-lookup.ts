/**
 * Lets the sandbox's fake phone read a session's current pairing QR without
 * the sandbox module depending on the sessions module (which depends on the
 * sandbox for its endpoint). The sessions module provides it.
 */
export interface SessionQrLookup {
  /** The raw QR string while the session waits for a scan, else null. */
  currentQr(sessionName: string): Promise<string | null>;
}

export const SESSION_QR_LOOKUP = Symbol('SESSION_QR_LOOKUP');
