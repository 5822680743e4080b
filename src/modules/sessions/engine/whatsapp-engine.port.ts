/**
 * The WhatsApp engine port. Everything ZapHub needs from a WhatsApp Web client,
 * in ZapHub's own terms. The only implementation is the Baileys adapter in
 * ./baileys/, the one place (with the sandbox) that imports Baileys. Keeping
 * Baileys types out of the rest of the code lets us upgrade or replace it
 * without touching sessions, messaging or webhooks.
 */

import type { Readable } from 'node:stream';

/** Why a connection closed, classified from WhatsApp's disconnect codes. */
export type DisconnectKind =
  | 'logged_out' // 401: credentials revoked; wipe auth, never reconnect
  | 'conflict' // 440: replaced by another client; never auto-reconnect
  | 'restart_required' // 515: reconnect at once (follows pairing)
  | 'connection_closed' // 428
  | 'connection_lost' // 408 (also timed out)
  | 'bad_session' // 500
  | 'forbidden' // 403: terminal
  | 'multidevice_mismatch' // 411: terminal
  | 'unavailable' // 503
  | 'qr_exhausted' // pairing QR not scanned in time (all refs used)
  | 'closed_by_us' // close() or logout() was called
  | 'unknown';

export interface EngineDisconnect {
  code: number | null;
  kind: DisconnectKind;
  message: string;
}

export interface EngineMe {
  /** Normalized user JID, e.g. 5511999998888@s.whatsapp.net */
  id: string;
  phone: string;
  pushName: string | null;
}

export interface InboundMessage {
  waMessageId: string;
  /** Chat JID as WhatsApp addresses it (may be @lid in Baileys 7). */
  chatId: string;
  /** Phone-number JID of the chat when known (remoteJidAlt), else null. */
  chatIdAlt: string | null;
  fromMe: boolean;
  senderPhone: string | null;
  pushName: string | null;
  type: 'text' | 'image' | 'video' | 'audio' | 'document' | 'sticker' | 'location' | 'contact' | 'reaction' | 'other';
  text: string | null;
  timestamp: Date;
  /** The WhatsApp id of the message this one replies to (quotes), or null. */
  quotedWaMessageId: string | null;
  /** A reaction: the WhatsApp id of the message reacted to (the emoji is `text`; empty removes it). */
  reactionTo: string | null;
  /**
   * The author's normalized JID (the group participant, else the contact; phone JID when WhatsApp
   * tells it); null for the account's own messages. Identifies a reactor and an editor.
   */
  senderJid?: string | null;
  /** An edit or a delete for everyone of an earlier message (WhatsApp sends these as protocol messages). */
  change?: MessageChange | null;
  /** What the message says of its file (image, video, audio, document, sticker); null for other types. */
  media?: InboundMedia | null;
  /** Opaque engine payload, stored so media can be downloaded later. */
  raw: unknown;
}

/** What an edit or a revoke does to an earlier message of the same chat and author. */
export type MessageChange =
  | { kind: 'edit'; targetWaMessageId: string; text: string | null }
  | { kind: 'revoke'; targetWaMessageId: string };

/** The file a received media message announces (before it is downloaded). */
export interface InboundMedia {
  mimetype: string | null;
  /** A document's file name. */
  filename: string | null;
  /** Bytes, as the sender declared them (fileLength); null when not given. */
  size: number | null;
}

export type EngineEvent =
  | { type: 'qr'; value: string; expiresAt: Date }
  | { type: 'open'; me: EngineMe }
  | { type: 'close'; disconnect: EngineDisconnect }
  | { type: 'message'; message: InboundMessage }
  /** `participant`: in a group, the member whose receipt it is (normalized JID); null in a one-to-one chat. */
  | { type: 'receipt'; waMessageId: string; chatId: string; status: 'SENT' | 'DELIVERED' | 'READ'; participant?: string | null }
  /** Credentials changed (pairing, adv secret rotation): purely informational. */
  | { type: 'creds' };

export type OutboundContent =
  | { type: 'text'; text: string }
  | { type: 'image' | 'video' | 'audio' | 'document' | 'sticker'; media: Buffer | { url: string }; mimetype?: string; filename?: string; caption?: string; ptt?: boolean }
  | { type: 'location'; latitude: number; longitude: number; name?: string; address?: string }
  | { type: 'contact'; name: string; phone: string }
  | { type: 'reaction'; targetWaMessageId: string; targetFromMe: boolean; emoji: string };

/** A received file being downloaded: its decrypted bytes as a stream, never held whole in memory. */
export interface DownloadedMedia {
  /** Decrypted bytes. Errors (network, decryption) surface on the stream; destroy it to abort. */
  stream: Readable;
  mimetype: string | null;
  filename: string | null;
  /** Declared size (fileLength), or null. */
  size: number | null;
}

/** The message carries no media to download (a text, a location...): retrying cannot help. */
export class NoMediaError extends Error {
  override readonly name = 'NoMediaError';
}

/** Options of one send. */
export interface SendOptions {
  /** The WhatsApp id to send with (derived by the caller, so a resend carries the same id); generated when absent. */
  waMessageId?: string;
  /** The message this one replies to, as ZapHub stored it. */
  quoted?: QuotedMessage;
}

/** What a reply needs of the quoted message: its id, its author and what it said (for the preview). */
export interface QuotedMessage {
  waMessageId: string;
  fromMe: boolean;
  /** The author within a group (a participant JID); null in a one-to-one chat. */
  participant: string | null;
  text: string | null;
}

export type Presence = 'composing' | 'paused' | 'available' | 'unavailable';

/**
 * Persistence the engine needs for its credentials and Signal keys, provided by
 * the sessions module (PostgreSQL, optionally encrypted). Values are opaque
 * strings produced and parsed by the adapter.
 */
export interface AuthStateStore {
  /** null when the session never logged in. Throws when the read fails: never mint fresh creds then. */
  loadCreds(): Promise<string | null>;
  saveCreds(serialized: string): Promise<void>;
  getKeys(type: string, ids: string[]): Promise<Record<string, string>>;
  /** One transaction: value null deletes. */
  setKeys(entries: Array<{ type: string; id: string; value: string | null }>): Promise<void>;
  clear(): Promise<void>;
}

export interface EngineConnectOptions {
  sessionId: string;
  /** Used only for sandbox routing and logs. */
  sessionName: string;
  auth: AuthStateStore;
  /**
   * Every event of the connection. For a `message` (and a `receipt` of the account's own message), a
   * returned promise settles once the event is recorded: the engine holds the message's delivery
   * receipt until then, so a crash before the commit leaves WhatsApp to deliver it again. It must
   * settle without waiting on this connection (that would hold its frames until the engine's safety
   * timeout), and should not reject (failures are the consumer's to log and count).
   */
  onEvent: (event: EngineEvent) => Promise<void> | void;
  /** Looks up a message ZapHub sent, for WhatsApp's retry requests. */
  getMessage?: (waMessageId: string) => Promise<OutboundContent | undefined>;
}

/** A live connection of one session. Only its owner worker holds one. */
export interface EngineConnection {
  send(chatId: string, content: OutboundContent, opts?: SendOptions): Promise<{ waMessageId: string }>;
  sendPresence(chatId: string, presence: Presence): Promise<void>;
  markRead(chatId: string, waMessageIds: string[]): Promise<void>;
  /**
   * Opens the download of a received message's media (`InboundMessage.raw`), decrypted as it streams.
   * Expired media (the server answers 404/410) is re-uploaded by the sender's phone on request, through
   * this socket, and fetched again. Rejects with NoMediaError (a message without media) or the
   * HTTP failure; later failures come through the stream.
   */
  downloadMedia(raw: unknown): Promise<DownloadedMedia>;
  /** Pairing-code login (instead of QR); phone in international digits. */
  requestPairingCode(phone: string): Promise<string>;
  /** Proves the socket is alive with a round-trip; rejects on timeout. */
  ping(timeoutMs: number): Promise<void>;
  /** Epoch ms of the last frame received. */
  lastActivityAt(): number;
  /** Logs out at WhatsApp (unlinks the device) and closes. */
  logout(): Promise<void>;
  /** Closes the socket and releases every listener, timer and cache. Idempotent. */
  close(): Promise<void>;
  /** Sizes of the connection's bounded caches, for zaphub_cache_entries. */
  cacheSizes(): Record<string, number>;
}

export interface WhatsAppEngine {
  /**
   * Loads the session's auth state and opens a socket. Resolves as soon as the
   * socket exists (before it is open); rejects only when the auth state cannot
   * be read (then nothing was written). Everything after that (qr, open, close,
   * messages, receipts) arrives through `onEvent`, with exactly one `close`.
   */
  connect(options: EngineConnectOptions): Promise<EngineConnection>;
}

/** Injection token of the engine. */
export const WHATSAPP_ENGINE = Symbol('WHATSAPP_ENGINE');
