import type { DisconnectKind, EngineDisconnect } from '../whatsapp-engine.port';

/**
 * WhatsApp's disconnect codes as Baileys reports them (Boom statusCode of
 * `lastDisconnect.error`). Kept numeric here so the mapping is testable
 * without a socket.
 */
const KIND_BY_CODE: Record<number, DisconnectKind> = {
  401: 'logged_out',
  403: 'forbidden',
  408: 'connection_lost',
  411: 'multidevice_mismatch',
  428: 'connection_closed',
  440: 'conflict',
  500: 'bad_session',
  503: 'unavailable',
  515: 'restart_required',
};

/** Baileys ends an unscanned pairing with 408 and this message once every QR ref is used. */
const QR_EXHAUSTED = /QR refs attempts ended/i;

/**
 * Classifies a close. `closedByUs` wins over the code: our own close() ends
 * the socket without an error and logout() ends it with 401, and neither must
 * look like WhatsApp revoking or dropping the session.
 */
export function classifyDisconnect(code: number | null | undefined, message: string | null | undefined, closedByUs = false): EngineDisconnect {
  const text = message ?? '';
  const normalizedCode = typeof code === 'number' && Number.isFinite(code) ? code : null;
  let kind: DisconnectKind;
  if (closedByUs) kind = 'closed_by_us';
  else if (normalizedCode === 408 && QR_EXHAUSTED.test(text)) kind = 'qr_exhausted';
  else if (normalizedCode === null) kind = /timed out/i.test(text) ? 'connection_lost' : 'unknown';
  else kind = KIND_BY_CODE[normalizedCode] ?? 'unknown';
  return { code: normalizedCode, kind, message: text || kind };
}
