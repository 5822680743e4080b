import { LRUCache } from 'lru-cache';
import { ContactState } from './contact-state';
import type { ContactMessage, ContactPresence, ContactReadReceipt } from './sandbox-network.types';

/** What the directory needs from a contact (FakeContact fits; unit tests use a stand-in). */
export interface DirectoryContact {
  readonly phone: string;
  readonly isOpen: boolean;
  close(): Promise<void>;
}

export type ContactFactory<C extends DirectoryContact> = (phone: string, state: ContactState, onClosed: (contact: C) => void) => Promise<C>;

export interface ContactDirectoryOptions {
  /** Contacts with a live socket at once (default 200): the least recently used one is closed to make room. */
  maxLiveContacts?: number;
  /** Phones whose state (keys, inbox) is kept, live or not (default 1000; never fewer than maxLiveContacts). */
  maxKnownContacts?: number;
  /** Messages kept per contact inbox, the oldest dropped first (default 500). */
  maxMessagesPerContact?: number;
  /** A phone's state was dropped for good: its keys are gone, so whoever relays to it must forget its device. */
  onForgotten?(phone: string): void;
  /** Background work that failed (closing an evicted contact): to be logged and counted. */
  onBackgroundError(what: string, error: unknown): void;
}

export const DEFAULT_MAX_LIVE_CONTACTS = 200;
export const DEFAULT_MAX_KNOWN_CONTACTS = 1000;
export const DEFAULT_MAX_MESSAGES_PER_CONTACT = 500;

/**
 * The sandbox's fake contacts, created on first use and shared by concurrent
 * callers (two sessions messaging one new number start one contact).
 *
 * Bounded twice, since each live contact is a whole Baileys socket: at most
 * `maxLiveContacts` are connected (an LRU; "use" is a message relayed to the
 * contact, a message it sends, or a device query about it), and the state of
 * at most `maxKnownContacts` phones is kept (another LRU, in the same order).
 * An evicted contact keeps its state: it reconnects, as the same device, the
 * next time it is used, and then receives what was queued for it meanwhile;
 * its inbox answers all along. A phone whose state is dropped too is
 * forgotten: a later contact for it is a fresh install with new keys.
 */
export class ContactDirectory<C extends DirectoryContact> {
  private readonly live: LRUCache<string, C>;
  private readonly known: LRUCache<string, ContactState>;
  private readonly pending = new Map<string, Promise<C>>();
  /** Closes of evicted contacts still running (closeAll waits for them). */
  private readonly retiring = new Set<Promise<void>>();
  private readonly maxMessages: number;
  private closing = false;
  private evicted = 0;

  constructor(
    private readonly factory: ContactFactory<C>,
    private readonly options: ContactDirectoryOptions,
  ) {
    const maxLive = positiveInteger('maxLiveContacts', options.maxLiveContacts ?? DEFAULT_MAX_LIVE_CONTACTS);
    const maxKnown = Math.max(maxLive, positiveInteger('maxKnownContacts', options.maxKnownContacts ?? DEFAULT_MAX_KNOWN_CONTACTS));
    this.maxMessages = positiveInteger('maxMessagesPerContact', options.maxMessagesPerContact ?? DEFAULT_MAX_MESSAGES_PER_CONTACT);
    this.live = new LRUCache<string, C>({
      max: maxLive,
      // Only evictions close here: a contact deleted on purpose is already closed or is closed by the caller.
      dispose: (contact, _phone, reason) => {
        if (reason !== 'evict') return;
        this.evicted++;
        this.retire(contact);
      },
    });
    this.known = new LRUCache<string, ContactState>({
      max: maxKnown,
      dispose: (_state, phone, reason) => {
        if (reason === 'evict') this.drop(phone);
      },
    });
  }

  /** Contacts with a live socket. */
  get size(): number {
    return this.live.size;
  }

  /** Phones whose state (keys, inbox) is kept. */
  get knownCount(): number {
    return this.known.size;
  }

  /** Contacts closed to make room for others since the start. */
  get evictions(): number {
    return this.evicted;
  }

  /** Connected, or connecting. */
  isLive(phone: string): boolean {
    return this.pending.has(phone) || this.live.peek(phone)?.isOpen === true;
  }

  /** Marks `phone` as just used (it moves to the far end of both LRUs); no effect for a phone that is not live. */
  touch(phone: string): void {
    if (this.live.get(phone)) this.known.get(phone);
  }

  /** The contact of `phone`, connected; created on first call, reconnected (same state) after an eviction. */
  ensure(phone: string): Promise<C> {
    if (this.closing) return Promise.reject(new Error('the sandbox network is closing'));
    const existing = this.live.get(phone);
    if (existing?.isOpen) {
      this.known.get(phone);
      return Promise.resolve(existing);
    }
    if (existing) this.live.delete(phone); // closed under us (a fault): replaced below
    let pending = this.pending.get(phone);
    if (!pending) {
      const state = this.stateOf(phone);
      pending = this.factory(phone, state, (contact) => this.forget(contact))
        .then((contact) => {
          // Its state may have been pushed out while it connected: it is the most recently used one now.
          if (this.known.peek(phone) !== state) this.known.set(phone, state);
          this.live.set(phone, contact);
          return contact;
        })
        .finally(() => this.pending.delete(phone));
      this.pending.set(phone, pending);
    }
    return pending;
  }

  /** Records a chat state for `phone` (its state is created if needed, like a message's). */
  recordPresence(phone: string, presence: ContactPresence): void {
    this.stateOf(phone).recordPresence(presence);
  }

  /** Records a read receipt `phone` got for one of its messages. */
  recordRead(phone: string, read: ContactReadReceipt): void {
    this.stateOf(phone).recordRead(read);
  }

  /** The read receipts `phone` got, oldest first (`[]` when none, or forgotten). */
  reads(phone: string): ContactReadReceipt[] {
    return this.known.peek(phone)?.reads() ?? [];
  }

  /** The chat states `phone` saw, oldest first (`[]` when none, or forgotten). */
  presences(phone: string): ContactPresence[] {
    return this.known.peek(phone)?.presences() ?? [];
  }

  /** What `phone` received, in arrival order (`[]` for a phone that got nothing, or was forgotten). */
  messages(phone: string): ContactMessage[] {
    // peek: reading an inbox is not a use, so the order of both LRUs stays the same.
    return this.known.peek(phone)?.messages() ?? [];
  }

  async closeAll(): Promise<void> {
    this.closing = true;
    await Promise.allSettled([...this.pending.values()]);
    const contacts = [...this.live.values()];
    this.live.clear();
    for (const contact of contacts) this.retire(contact);
    await Promise.allSettled([...this.retiring]);
  }

  private stateOf(phone: string): ContactState {
    let state = this.known.get(phone);
    if (!state) {
      state = new ContactState(phone, this.maxMessages);
      this.known.set(phone, state);
    }
    return state;
  }

  /** The state of `phone` left the known LRU. */
  private drop(phone: string): void {
    // Still connecting: ensure() puts its state back when it is up.
    if (this.pending.has(phone)) return;
    const contact = this.live.peek(phone);
    if (contact) {
      this.live.delete(phone);
      this.retire(contact);
    }
    this.options.onForgotten?.(phone);
  }

  /** Closes a contact the directory let go of; the close is awaited by closeAll, a failure reported. */
  private retire(contact: C): void {
    const closed: Promise<void> = contact
      .close()
      .catch((error: unknown) => this.options.onBackgroundError(`closing the evicted contact ${contact.phone}`, error))
      .finally(() => this.retiring.delete(closed));
    this.retiring.add(closed);
  }

  private forget(contact: C): void {
    if (this.live.peek(contact.phone) === contact) this.live.delete(contact.phone);
  }
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`${name} must be a positive integer (got ${value})`);
  return value;
}
