import type { DisconnectKind } from '../engine/whatsapp-engine.port';

/** What the runtime does after a connection closed. */
export type ReconnectDecision =
  | { action: 'ignore' }
  | { action: 'reconnect-now' }
  | { action: 'backoff' }
  | { action: 'terminal'; status: 'LOGGED_OUT' | 'CONFLICT' | 'FAILED' | 'STOPPED'; wipeAuth: boolean; error: string };

/**
 * Classifies a disconnect as NOTES.md lists WhatsApp's codes:
 * 401 logged out (wipe auth, never reconnect), 440 replaced elsewhere (never
 * auto-reconnect or two clients fight), 515 restart required (at once, it
 * follows pairing), 403/411 terminal, everything else transient with backoff.
 */
export function decideReconnect(kind: DisconnectKind, message: string): ReconnectDecision {
  switch (kind) {
    case 'closed_by_us':
      return { action: 'ignore' };
    case 'restart_required':
      return { action: 'reconnect-now' };
    case 'logged_out':
      return { action: 'terminal', status: 'LOGGED_OUT', wipeAuth: true, error: 'Logged out by WhatsApp (401): pair the session again' };
    case 'conflict':
      return { action: 'terminal', status: 'CONFLICT', wipeAuth: false, error: 'Connection replaced by another client (440)' };
    case 'forbidden':
      return { action: 'terminal', status: 'FAILED', wipeAuth: false, error: `WhatsApp refused the session (403): ${message}` };
    case 'multidevice_mismatch':
      return { action: 'terminal', status: 'FAILED', wipeAuth: false, error: `Multi-device mismatch (411): ${message}` };
    case 'qr_exhausted':
      return { action: 'terminal', status: 'STOPPED', wipeAuth: false, error: 'QR code was not scanned in time' };
    default:
      return { action: 'backoff' };
  }
}

/**
 * Exponential backoff with "equal jitter": half the exponential delay is fixed,
 * half random, so reconnecting sessions spread out but never retry at once.
 * @param attempt 1 for the first retry.
 */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const exponential = Math.min(maxMs, baseMs * 2 ** Math.max(0, Math.min(attempt - 1, 30)));
  return Math.round(exponential / 2 + random() * (exponential / 2));
}
