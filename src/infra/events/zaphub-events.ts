/**
 * Typed ZapHub events published on the in-process bus. Producers (sessions,
 * messaging) emit them; the webhooks module turns them into persisted events
 * and deliveries. Payloads carry names and ids, never live objects.
 */
export interface ZapHubEvents {
  'session.status': { sessionId: string; session: string; status: string; previous: string | null; lastError: string | null };
  'session.qr': { sessionId: string; session: string; value: string; expiresAt: string };
  /** A message arrived on a session (already de-duplicated by the owner). */
  'session.inbound': { sessionId: string; session: string; message: import('../../modules/sessions/engine/whatsapp-engine.port').InboundMessage };
  /** WhatsApp acknowledged, delivered or read a message this session sent. */
  'session.receipt': { sessionId: string; session: string; waMessageId: string; chatId: string; status: 'SENT' | 'DELIVERED' | 'READ' };
}

export type ZapHubEventName = keyof ZapHubEvents;
