import { Logger } from '@nestjs/common';
import { LRUCache } from 'lru-cache';

const DEDUPE_MAX = 5000;
const CONTACTS_MAX = 1000;
const CONTACTS_WARN_AT = 800;
const CONTACTS_TTL_MS = 30 * 60 * 1000;

/**
 * Per-session memory of the owner worker, bounded and released on stop:
 * - inbound message ids already recorded (WhatsApp re-delivers after reconnects);
 * - contacts seen (push names), LRU max 1000 with a 30 min TTL, warning at 800
 *   so a session talking to a huge audience shows up before it churns.
 */
export class SessionContext {
  private readonly logger = new Logger(SessionContext.name);
  private readonly seenInbound = new LRUCache<string, true>({ max: DEDUPE_MAX });
  private readonly contacts = new LRUCache<string, string>({ max: CONTACTS_MAX, ttl: CONTACTS_TTL_MS, ttlAutopurge: false });
  private warnedContacts = false;

  constructor(private readonly sessionName: string) {}

  /** Whether an inbound message id was already handed over (WhatsApp re-delivers after reconnects). */
  hasSeen(waMessageId: string): boolean {
    return this.seenInbound.has(waMessageId);
  }

  /** Called only once the message is durably recorded: a failed hand-over must not count as seen. */
  markSeen(waMessageId: string): void {
    this.seenInbound.set(waMessageId, true);
  }

  rememberContact(jid: string, pushName: string | null): void {
    if (!pushName) return;
    this.contacts.set(jid, pushName);
    if (!this.warnedContacts && this.contacts.size >= CONTACTS_WARN_AT) {
      this.warnedContacts = true;
      this.logger.warn(`session ${this.sessionName}: contacts cache reached ${this.contacts.size}/${CONTACTS_MAX} entries`);
    }
  }

  contactName(jid: string): string | undefined {
    return this.contacts.get(jid);
  }

  sizes(): Record<string, number> {
    return { inbound_dedupe: this.seenInbound.size, contacts: this.contacts.size };
  }

  clear(): void {
    this.seenInbound.clear();
    this.contacts.clear();
  }
}
