/**
 * Typed ZapHub events published on the in-process bus. Producers (sessions,
 * messaging) emit them; the webhooks module turns them into persisted events
 * and deliveries. Payloads carry names and ids, never live objects.
 */
export interface ZapHubEvents {
  'session.status': { sessionId: string; session: string; status: string; previous: string | null; lastError: string | null };
  'session.qr': { sessionId: string; session: string; value: string; expiresAt: string };
}

export type ZapHubEventName = keyof ZapHubEvents;
