import type { DbTransaction } from '../../../infra/prisma/transaction';
import type { WebhookInput } from '../session.types';

/**
 * What becomes of `config.webhooks` (POST/PATCH /api/sessions): real webhook
 * endpoints of the session, signed and retried like the ones of
 * /api/sessions/:name/webhooks. Defined by sessions, provided by the webhooks
 * module (which depends on sessions, not the other way round).
 */
export interface InlineWebhooks {
  /**
   * Checks the list before anything is stored: each url (shape and the SSRF
   * address rule), events and secret. Throws a ValidationError naming
   * `config.webhooks[i].<field>` (400), or a ServiceUnavailableError when DNS
   * did not answer.
   */
  check(webhooks: readonly WebhookInput[]): Promise<void>;
  /**
   * Makes the session's config-declared endpoints exactly `webhooks`, in the
   * caller's transaction (with the session row it writes): an entry whose url
   * is already there keeps its row (and its secret unless a new one is
   * given), others are created (secret generated unless given), the rest are
   * removed.
   */
  replace(tx: DbTransaction, sessionId: string, webhooks: readonly WebhookInput[]): Promise<void>;
}
