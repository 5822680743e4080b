import type { KeyPair } from '@whiskeysockets/baileys';
import type { SandboxFaults } from './faults';
import type { MediaServerStats } from './media-server';

/** Logger the network reports to (Nest's Logger fits). */
export interface SandboxLogger {
  log(message: string): void;
  warn(message: string): void;
  error(message: string): void;
  debug?(message: string): void;
}

export interface SandboxNetworkOptions {
  /** Interface to listen on (default 127.0.0.1: the sandbox has no authentication). */
  host?: string;
  /** TCP port; 0 (default) picks a free one. */
  port?: number;
  /** Delay before a fake contact sends the delivery receipt of what it received (default 100 ms). */
  deliveryReceiptMs?: number;
  /** Further delay before it sends the read receipt (default 300 ms). */
  readReceiptMs?: number;
  /** Refs per `pair-device` iq, i.e. QR codes a companion can show before it gives up (default 6, like WhatsApp). */
  qrRefCount?: number;
  /**
   * Model WhatsApp's companion_reg_refresh: the first scan of each pairing
   * attempt is refused, the server sends the notification, and only a QR
   * carrying a different adv secret is accepted afterwards.
   */
  requireAdvRotation?: boolean;
  /**
   * Tell fresh accounts they already have pre-keys on the server, so Baileys
   * uploads 5 instead of 812 (generating 812 costs ~0.3 s of CPU per account).
   * For tests that open many sessions; real WhatsApp asks for 812. Fake
   * contacts always use this.
   */
  fastPreKeys?: boolean;
  /** Serve the HTTP control API (`/control/*`) next to the WebSocket (for `npm run sandbox`). */
  controlApi?: boolean;
  /** Reuse a root key pair instead of generating one (e.g. to keep the root across restarts). */
  rootKeyPair?: KeyPair;
  /** Source of randomness for the drop fault (tests can make drops deterministic). */
  random?: () => number;
  /** How long a contact may take to connect and upload keys (default 20 s). */
  contactTimeoutMs?: number;
  /**
   * Fake contacts connected at once (default 200). Each one is a Baileys
   * socket; when one more is needed the least recently used is closed. It
   * keeps its keys and inbox and reconnects the next time it is messaged.
   */
  maxLiveContacts?: number;
  /**
   * Phones whose contact state (keys, inbox) is kept, connected or not
   * (default 1000, at least maxLiveContacts). Beyond that the least recently
   * used phone is forgotten: its inbox is gone and a later contact for it is a
   * fresh install with new keys.
   */
  maxKnownContacts?: number;
  /** Messages kept in each contact's inbox, the oldest dropped first (default 500). */
  maxMessagesPerContact?: number;
  /** Bytes of (encrypted) media the media server keeps in memory; the oldest files go first (default 128 MiB). */
  maxMediaBytes?: number;
  logger?: SandboxLogger;
}

/** One message a fake contact received, as the REST API shows it. */
export interface ContactMessage {
  /** Phone number of the sender (digits). */
  from: string;
  /** Text, caption or reaction emoji; null for content without text. */
  text: string | null;
  /** text | image | video | audio | document | sticker | location | contact | reaction | <other Baileys content type> */
  type: string;
  waMessageId: string;
  /** ISO time the contact received it. */
  receivedAt: string;
  /** How many times this id arrived (a phone shows one message; a resend after a crash is a copy). */
  copies: number;
  /** The id of the message this one replies to. */
  quotedId?: string;
  /** A reaction: the message reacted to and the emoji ("" removes it). */
  reaction?: { waMessageId: string; emoji: string };
  /** A media message, once the contact downloaded and decrypted its file (absent until then). */
  media?: ContactMedia;
  /** Why the contact could not download the media (also counted in stats().backgroundFailures). */
  mediaError?: string;
}

/** The file of a media message, as the receiving contact got it. */
export interface ContactMedia {
  mimetype: string | null;
  filename: string | null;
  /** Bytes of the decrypted file. */
  size: number;
  /** SHA-256 of the decrypted file, hex. */
  sha256: string;
}

export const INBOUND_TYPES = ['text', 'image', 'video', 'audio', 'document', 'sticker', 'location', 'reaction', 'edit', 'revoke'] as const;
export type InboundType = (typeof INBOUND_TYPES)[number];

/** What a fake contact sends a session (`SandboxNetwork.inbound`, `POST /api/sandbox/inbound`). */
export interface InboundMessageInput {
  /** Default `text`. */
  type?: InboundType;
  /** type text: the message (required). */
  text?: string;
  /** Media types: the file (base64 or bytes), its MIME type and, for a document, its name. */
  media?: { data: string | Buffer; mimetype: string; filename?: string };
  /** image, video, document: a caption. */
  caption?: string;
  location?: { latitude: number; longitude: number; name?: string; address?: string };
  /** The WhatsApp id of the message this one replies to. */
  replyTo?: string;
  /** type reaction: the message reacted to (one the contact sent or received) and the emoji ('' removes it). */
  reaction?: { waMessageId: string; emoji: string };
  /** type edit: a message the contact sent, and its new text. */
  edit?: { waMessageId: string; text: string };
  /** type revoke: a message the contact sent, deleted for everyone. */
  revoke?: { waMessageId: string };
}

/** A chat state a fake contact saw (a session typing to it, and so on). */
export interface ContactPresence {
  /** Phone number of the session that sent it (digits). */
  from: string;
  state: 'composing' | 'paused' | 'recording';
  /** ISO time the network relayed it. */
  at: string;
}

/** A read receipt a session sent for a message a fake contact had sent it. */
export interface ContactReadReceipt {
  /** Phone number of the session that read it (digits). */
  from: string;
  /** The contact's message that was read. */
  waMessageId: string;
  /** ISO time the network relayed it. */
  at: string;
}

export type DisconnectCode = 401 | 428 | 440 | 515;
export const DISCONNECT_CODES: readonly DisconnectCode[] = [401, 428, 440, 515];

export interface PairingResult {
  session: string;
  /** Phone number of the account the session is now a companion of. */
  phone: string;
  /** The companion's device JID (`phone:device@s.whatsapp.net`). */
  jid: string;
  lid: string;
}

/** Where a session stands on the network. */
export type SandboxSessionState =
  /** No connection with this session name was ever seen. */
  | 'unknown'
  /** Connected, not paired: waiting for a QR scan or a pairing code. */
  | 'awaiting-pairing'
  /** Connected and logged in. */
  | 'online'
  /** Not connected now (it was before). */
  | 'offline';

export interface SandboxStats {
  /** Open WebSocket connections (sessions and contacts). */
  connections: number;
  /** Sessions with an open connection. */
  onlineSessions: number;
  accounts: number;
  /** Fake contacts connected now (at most maxLiveContacts). */
  contacts: number;
  /** Phones whose contact state (keys, inbox) is kept (at most maxKnownContacts). */
  knownContacts: number;
  /** Contacts closed to make room for others (they reconnect when used again). */
  evictedContacts: number;
  /** `<message>` stanzas the server took (acked) from clients; a dropped one is not taken. */
  acceptedMessages: number;
  relayedMessages: number;
  droppedMessages: number;
  /** Ids of the most recently dropped messages (up to 1000). */
  droppedMessageIds: string[];
  relayedReceipts: number;
  /** Stanzas held for devices that were offline. */
  queuedOffline: number;
  /** Messages a device never receipted before its connection closed, delivered again at its next login (as WhatsApp does). */
  redeliveredUnreceipted: number;
  refusedConnections: number;
  /** Background work that failed (a contact that could not start or close, a receipt): each one is also logged. */
  backgroundFailures: number;
  /** The media server: files and bytes kept, files evicted, uploads, downloads, refused requests. */
  media: MediaServerStats;
  faults: SandboxFaults;
}
