import type { FakeContact } from './fake-contact';
import type { ContactMessage } from './sandbox-network.types';

type ContactFactory = (phone: string, inbox: ContactMessage[], onClosed: (contact: FakeContact) => void) => Promise<FakeContact>;

/**
 * The sandbox's fake contacts, created on first use and shared by concurrent
 * callers (two sessions messaging one new number start one contact). Inboxes
 * live here, not in the contact, so a contact that reconnects keeps its history.
 */
export class ContactDirectory {
  private readonly pending = new Map<string, Promise<FakeContact>>();
  private readonly ready = new Map<string, FakeContact>();
  private readonly inboxes = new Map<string, ContactMessage[]>();
  private closing = false;

  constructor(private readonly factory: ContactFactory) {}

  get size(): number {
    return this.ready.size;
  }

  has(phone: string): boolean {
    return this.ready.has(phone) || this.pending.has(phone);
  }

  /** The contact of `phone`, connected; created on first call. */
  ensure(phone: string): Promise<FakeContact> {
    if (this.closing) return Promise.reject(new Error('the sandbox network is closing'));
    const existing = this.ready.get(phone);
    if (existing?.isOpen) return Promise.resolve(existing);
    let pending = this.pending.get(phone);
    if (!pending) {
      pending = this.factory(phone, this.inbox(phone), (contact) => this.forget(contact))
        .then((contact) => {
          this.ready.set(phone, contact);
          return contact;
        })
        .finally(() => this.pending.delete(phone));
      this.pending.set(phone, pending);
    }
    return pending;
  }

  /** What `phone` received, in arrival order (`[]` for a contact that got nothing or does not exist yet). */
  messages(phone: string): ContactMessage[] {
    return [...(this.inboxes.get(phone) ?? [])];
  }

  async closeAll(): Promise<void> {
    this.closing = true;
    const contacts = [...this.ready.values(), ...(await Promise.allSettled(this.pending.values())).flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []))];
    this.ready.clear();
    await Promise.allSettled(contacts.map((contact) => contact.close()));
  }

  private inbox(phone: string): ContactMessage[] {
    let inbox = this.inboxes.get(phone);
    if (!inbox) {
      inbox = [];
      this.inboxes.set(phone, inbox);
    }
    return inbox;
  }

  private forget(contact: FakeContact): void {
    if (this.ready.get(contact.phone) === contact) this.ready.delete(contact.phone);
  }
}
