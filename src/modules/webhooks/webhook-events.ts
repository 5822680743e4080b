/**
 * The event types a webhook can subscribe to (CONTRACT.md, Webhooks), and `*`
 * for all of them. An endpoint's filter is `["*"]` or a list of these names.
 */
export const WEBHOOK_EVENT_TYPES = [
  'session.status',
  'session.qr',
  'message.received',
  'message.sent',
  'message.delivered',
  'message.read',
  'message.failed',
  'message.expired',
  'message.media',
  // Our additions (the contract names no event for them): a contact's reaction, edit or
  // delete-for-everyone applied to a stored message.
  'message.reaction',
  'message.edited',
  'message.revoked',
  'webhook.test',
] as const;

export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

export const ALL_EVENTS = '*';

/** Every value an event filter may hold. */
export const WEBHOOK_EVENT_FILTER_VALUES: readonly string[] = [ALL_EVENTS, ...WEBHOOK_EVENT_TYPES];

const KNOWN = new Set(WEBHOOK_EVENT_FILTER_VALUES);

/** Values of `events` that are neither `*` nor a known event type. */
export function unknownEvents(events: readonly string[]): string[] {
  return [...new Set(events.filter((e) => !KNOWN.has(e)))];
}

/** The filter as stored: duplicates dropped (first occurrence kept); `*` anywhere means just `["*"]`. */
export function normalizeEvents(events: readonly string[] | undefined): string[] {
  if (!events || events.includes(ALL_EVENTS)) return [ALL_EVENTS];
  return [...new Set(events)];
}

/** Whether an endpoint with filter `events` receives an event of type `type`. */
export function eventFilterMatches(events: readonly string[], type: string): boolean {
  return events.includes(ALL_EVENTS) || events.includes(type);
}
