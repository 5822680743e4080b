import type { InboundMessage, OutboundContent } from '../engine/whatsapp-engine.port';

/** The session a hook call is about (ids and names only, never live objects). */
export interface SessionRef {
  id: string;
  name: string;
}

export interface InboundReceipt {
  waMessageId: string;
  /** Normalized like InboundMessage.chatId, so it matches the message it belongs to. */
  chatId: string;
  status: 'SENT' | 'DELIVERED' | 'READ';
  /** A group member's receipt: that member's normalized JID; null or absent in a one-to-one chat. */
  participant?: string | null;
}

/**
 * Where the owner of a session hands what WhatsApp delivers. Defined by
 * sessions, provided by messaging (it persists messages and receipts). Every
 * method resolves only once the item is durably recorded: the session marks a
 * message id as seen only after that, so a failed hand-over is retried and a
 * WhatsApp re-delivery is not dropped as a duplicate.
 */
export interface InboundSink {
  /** A message a contact (or group member) sent to this account. */
  received(session: SessionRef, message: InboundMessage): Promise<void>;
  /** A message this account sent from another of its devices (the phone): outbound, not inbound. */
  ownMessage(session: SessionRef, message: InboundMessage): Promise<void>;
  receipt(session: SessionRef, receipt: InboundReceipt): Promise<void>;
}

/**
 * What the engine asks for when a recipient could not decrypt a message and
 * requests a retry: the content ZapHub sent with that WhatsApp id. Provided
 * by messaging (the messages store).
 */
export interface SentMessageStore {
  contentOf(sessionId: string, waMessageId: string): Promise<OutboundContent | undefined>;
}

/** Told when a session became WORKING on this worker (e.g. to kick its pending chats). */
export type SessionWorkingListener = (session: SessionRef) => Promise<void>;
