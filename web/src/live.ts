import { useEffect, useRef } from 'preact/hooks';
import type { EventEnvelope } from './api/client';
import type { components } from './api/schema';

/**
 * Follows GET /api/events/stream (Server-Sent Events; the session cookie
 * authenticates it) at `url`, not at all while `url` is null. EventSource
 * reconnects by itself; `onOpen` runs at every (re)connection.
 */
function useEventStream(url: string | null, onEvent: (event: EventEnvelope) => void, onOpen?: () => void): void {
  const handlers = useRef({ onEvent, onOpen });
  handlers.current = { onEvent, onOpen };
  useEffect(() => {
    if (url === null) return undefined;
    const source = new EventSource(url);
    const listener = (message: MessageEvent<string>) => handlers.current.onEvent(JSON.parse(message.data) as EventEnvelope);
    // EventSource dispatches by `event:` only to listeners of that name: list every type ZapHub emits
    // (a type missing here is not shown live, though it is in the log and in webhooks).
    for (const type of EVENT_TYPES) source.addEventListener(type, listener as EventListener);
    source.addEventListener('open', () => handlers.current.onOpen?.());
    return () => source.close();
  }, [url]);
}

/**
 * A session's events after sequence `after` (what the page already shows),
 * then live ('live': from now on); not before `after` is known (null). On a
 * reconnect EventSource sends Last-Event-ID, which the server prefers to
 * `after`: no gap, no repeat.
 */
export function useSessionEvents(session: string, after: number | 'live' | null, onEvent: (event: EventEnvelope) => void): void {
  const base = `/api/events/stream?session=${encodeURIComponent(session)}`;
  useEventStream(after === null ? null : after === 'live' ? base : `${base}&after=${after}`, onEvent);
}

/**
 * Every session's events, live. This stream does not resume (one cursor per
 * session cannot ride in Last-Event-ID): `onOpen` runs at each (re)connection,
 * after the server took its start position, so reloading there misses nothing.
 */
export function useAllSessionsEvents(onEvent: (event: EventEnvelope) => void, onOpen: () => void): void {
  useEventStream('/api/events/stream', onEvent, onOpen);
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
