import type { DbTransaction } from '../../../infra/prisma/transaction';

/**
 * What a session's deletion asks of messaging, in the deletion's transaction:
 * its queued messages become CANCELED (CONTRACT.md: DELETE cancels them), so
 * none is left waiting for a session that will never send it. Defined by
 * sessions, provided by messaging.
 */
export interface QueuedMessages {
  /** Cancels every QUEUED message of the session; returns how many. */
  cancelAll(tx: DbTransaction, sessionId: string): Promise<number>;
}
