import type { MessageRecord } from './message.repository';
import type { MessageView } from './messages.dto';

/** What a Message view is built from: a full record, or the columns a bulk statement returns. */
export type MessageViewSource = Pick<
  MessageRecord,
  'id' | 'sessionName' | 'chatId' | 'direction' | 'type' | 'status' | 'text' | 'attempts' | 'error' | 'waMessageId' | 'createdAt' | 'sentAt' | 'deliveredAt' | 'readAt'
> &
  Partial<Pick<MessageRecord, 'editedAt' | 'revokedAt' | 'reactions' | 'receipts'>>;

const isGroup = (chatId: string): boolean => chatId.endsWith('@g.us');

/** The API's Message (and the data of message.* events). */
export function toMessageView(m: MessageViewSource): MessageView {
  return {
    id: m.id,
    session: m.sessionName,
    chatId: m.chatId,
    direction: m.direction,
    type: m.type,
    status: m.status,
    text: m.text,
    attempts: m.attempts,
    error: m.error,
    waMessageId: m.waMessageId,
    createdAt: m.createdAt.toISOString(),
    sentAt: m.sentAt?.toISOString() ?? null,
    deliveredAt: m.deliveredAt?.toISOString() ?? null,
    readAt: m.readAt?.toISOString() ?? null,
    // Our additions, shown only when they say something (so views stored before them read the same):
    ...(m.editedAt ? { editedAt: m.editedAt.toISOString() } : {}),
    ...(m.revokedAt ? { revoked: true, revokedAt: m.revokedAt.toISOString() } : {}),
    ...(m.reactions?.length ? { reactions: m.reactions.map((r) => ({ from: r.from, emoji: r.emoji, at: r.at })) } : {}),
    ...(m.receipts && m.direction === 'outbound' && isGroup(m.chatId)
      ? { receipts: m.receipts.map((r) => ({ participant: r.participant, status: r.status, at: r.at.toISOString() })) }
      : {}),
  };
}

const VIEW_KEYS: ReadonlyArray<keyof MessageView> = ['id', 'session', 'chatId', 'direction', 'type', 'status', 'text', 'attempts', 'error', 'waMessageId', 'createdAt', 'sentAt', 'deliveredAt', 'readAt'];

/** A stored view (jsonb reorders keys) in the order a fresh one has: a replayed response reads the same. */
export function inViewOrder(stored: MessageView): MessageView {
  return Object.fromEntries(VIEW_KEYS.map((k) => [k, stored[k]])) as unknown as MessageView;
}
