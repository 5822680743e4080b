import type { WebhookRecord } from './webhook.repository';
import type { WebhookView } from './webhooks.dto';

/** The API's view of an endpoint: never a secret, stored or plain. */
export function toWebhookView(record: WebhookRecord, now = new Date()): WebhookView {
  const overlapping = record.previousSecret !== null && record.previousSecretExpiresAt !== null && record.previousSecretExpiresAt > now;
  return {
    id: record.id,
    url: record.url,
    events: record.events,
    status: record.status,
    createdAt: record.createdAt.toISOString(),
    session: record.sessionId ? record.sessionName : null,
    source: record.managedBy ? 'env' : record.fromSessionConfig ? 'config' : 'api',
    secretRotatedAt: record.secretRotatedAt?.toISOString() ?? null,
    previousSecretExpiresAt: overlapping ? record.previousSecretExpiresAt!.toISOString() : null,
  };
}
