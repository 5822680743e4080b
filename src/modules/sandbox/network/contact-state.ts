import { initAuthCreds, type AuthenticationCreds, type proto } from '@whiskeysockets/baileys';
import { MemorySignalKeyStore } from './memory-key-store';
import type { ContactMedia, ContactMessage, ContactPresence, ContactReadReceipt } from './sandbox-network.types';

/** Sent messages kept for Baileys retry requests (`getMessage`). */
const MAX_SENT_KEPT = 200;

/**
 * What outlives one socket of a fake contact: its account keys (a contact
 * that reconnects after an eviction is the same device to its peers, so their
 * Signal sessions with it stay valid and what was queued for it while it was
 * offline decrypts), what it sent (for retry requests) and what it received.
 * Everything in it is bounded.
 */
export class ContactState {
  readonly keys = new MemorySignalKeyStore();
  readonly sent = new Map<string, proto.IMessage>();
  private authCreds: AuthenticationCreds | null = null;
  private readonly received: ContactMessage[] = [];
  private readonly chatStates: ContactPresence[] = [];
  private readonly readReceipts: ContactReadReceipt[] = [];

  constructor(
    readonly phone: string,
    /** Messages kept in the inbox; the oldest is dropped first. */
    readonly maxMessages: number,
  ) {}

  /** Made on first connect (key generation costs CPU) and kept for every later one. */
  get creds(): AuthenticationCreds {
    this.authCreds ??= { ...initAuthCreds(), me: { id: `${this.phone}:0@s.whatsapp.net`, name: `Contact ${this.phone}` } };
    return this.authCreds;
  }

  /**
   * Appends to the inbox, dropping the oldest message beyond `maxMessages`.
   * One entry per WhatsApp id, like a phone shows it: a second arrival of an
   * id only counts a copy. True when the entry is new.
   */
  record(message: ContactMessage): boolean {
    const seen = this.find(message.waMessageId);
    if (seen) {
      seen.copies++;
      return false;
    }
    this.received.push(message);
    if (this.received.length > this.maxMessages) this.received.splice(0, this.received.length - this.maxMessages);
    return true;
  }

  /** Fills in the file of a recorded media message once it is downloaded (no-op when the entry is gone). */
  attachMedia(waMessageId: string, media: ContactMedia): void {
    const entry = this.find(waMessageId);
    if (entry) entry.media = media;
  }

  /** Records why the file of a media message could not be downloaded. */
  attachMediaError(waMessageId: string, error: string): void {
    const entry = this.find(waMessageId);
    if (entry) entry.mediaError = error;
  }

  /** The inbox entry of a WhatsApp id (the stored object, not a copy). */
  find(waMessageId: string): ContactMessage | undefined {
    return this.received.find((m) => m.waMessageId === waMessageId);
  }

  /** Records a chat state the contact saw, dropping the oldest beyond `maxMessages`. */
  recordPresence(presence: ContactPresence): void {
    this.chatStates.push(presence);
    if (this.chatStates.length > this.maxMessages) this.chatStates.splice(0, this.chatStates.length - this.maxMessages);
  }

  /** Records a read receipt of one of the contact's messages, dropping the oldest beyond `maxMessages`. */
  recordRead(read: ContactReadReceipt): void {
    this.readReceipts.push(read);
    if (this.readReceipts.length > this.maxMessages) this.readReceipts.splice(0, this.readReceipts.length - this.maxMessages);
  }

  /** The read receipts got, oldest first (a copy). */
  reads(): ContactReadReceipt[] {
    return this.readReceipts.map((r) => ({ ...r }));
  }

  /** The chat states seen, oldest first (a copy). */
  presences(): ContactPresence[] {
    return this.chatStates.map((p) => ({ ...p }));
  }

  /** The inbox, in arrival order (a copy). */
  messages(): ContactMessage[] {
    return this.received.map((m) => ({ ...m, ...(m.media ? { media: { ...m.media } } : {}) }));
  }

  rememberSent(id: string, message: proto.IMessage): void {
    this.sent.set(id, message);
    if (this.sent.size > MAX_SENT_KEPT) this.sent.delete(this.sent.keys().next().value as string);
  }
}
