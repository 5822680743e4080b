import { useEffect, useRef } from 'preact/hooks';
import type { EventEnvelope } from './api/client';
import type { components } from './api/schema';

/**
 * Follows a session's events over GET /api/events/stream (Server-Sent
 * Events, the session cookie authenticates it). EventSource reconnects by
 * itself and sends Last-Event-ID, so nothing is missed across a reconnect.
 */
export function useSessionEvents(session: string, onEvent: (event: EventEnvelope) => void): void {
  const handler = useRef(onEvent);
  handler.current = onEvent;
  useEffect(() => {
    const source = new EventSource(`/api/events/stream?session=${encodeURIComponent(session)}`);
    const listener = (message: MessageEvent<string>) => handler.current(JSON.parse(message.data) as EventEnvelope);
    // EventSource dispatches by `event:` only to listeners of that name: list every type ZapHub emits
    // (a type missing here is not shown live, though it is in the log and in webhooks).
    for (const type of EVENT_TYPES) source.addEventListener(type, listener as EventListener);
    return () => source.close();
  }, [session]);
}

export const EVENT_TYPES = [
  'session.status',
  'session.qr',
  'message.received',
  'message.sent',
  'message.delivered',
  'message.read',
  'message.failed',
  'message.expired',
  'message.media',
  'message.reaction',
  'message.edited',
  'message.revoked',
] as const;

/** The event types the API documents (what webhooks can subscribe to), but `*` and the test ping. */
type DocumentedEventType = Exclude<components['schemas']['CreateWebhookDto']['events'][number], '*' | 'webhook.test'>;
type Unlisted = Exclude<DocumentedEventType, (typeof EVENT_TYPES)[number]>;
// The page's type check fails (naming the type) when the API documents an event type EVENT_TYPES lacks.
const everyDocumentedTypeListed: [Unlisted] extends [never] ? true : Unlisted = true;
void everyDocumentedTypeListed;
