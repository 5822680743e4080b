import { createHmac } from 'node:crypto';

/**
 * Standard Webhooks signature (v1): base64 HMAC-SHA256 of
 * `<webhook-id>.<webhook-timestamp>.<body>` keyed by the secret's key (the
 * base64-decoded part after `whsec_`). With several keys (a rotation's
 * overlap) the header carries one `v1,<sig>` per key, space-separated; a
 * receiver accepts the message when any of them verifies.
 */
export function signatureHeader(keys: readonly Buffer[], id: string, timestampSeconds: number, body: string): string {
  const signed = `${id}.${timestampSeconds}.${body}`;
  return keys.map((key) => `v1,${createHmac('sha256', key).update(signed).digest('base64')}`).join(' ');
}
