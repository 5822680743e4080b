import type { Account, AccountRegistry } from './account-registry';
import type { SandboxFaults } from './faults';
import type { MediaConnInfo } from './media-server';
import type { SandboxLogger } from './sandbox-network.types';

/** Counters behind `stats()`, mutated by the handlers of one network instance. */
export class NetworkCounters {
  acceptedMessages = 0;
  relayedMessages = 0;
  droppedMessages = 0;
  relayedReceipts = 0;
  queuedOffline = 0;
  /** Messages a device never receipted before its connection closed, queued again for its next login. */
  redeliveredUnreceipted = 0;
  refusedConnections = 0;
  backgroundFailures = 0;
  private readonly dropped: string[] = [];

  static readonly MAX_DROPPED_IDS = 1000;

  recordDrop(messageId: string): void {
    this.droppedMessages++;
    this.dropped.push(messageId);
    if (this.dropped.length > NetworkCounters.MAX_DROPPED_IDS) this.dropped.shift();
  }

  get droppedMessageIds(): string[] {
    return [...this.dropped];
  }
}

/** Resolved options the handlers read. */
export interface NetworkSettings {
  qrRefCount: number;
  requireAdvRotation: boolean;
  fastPreKeys: boolean;
}

/** What the stanza handlers need from the network, without a dependency on the facade class. */
export interface NetworkContext {
  readonly registry: AccountRegistry;
  readonly counters: NetworkCounters;
  readonly settings: NetworkSettings;
  readonly logger: SandboxLogger;
  faults(): SandboxFaults;
  random(): number;
  /**
   * Makes sure a number someone is about to message can receive: starts its
   * fake contact unless the account already has devices (a paired session, or
   * a running contact).
   */
  ensureReachable(account: Account): Promise<void>;
  /**
   * A message was just relayed to `account`: if it is a fake contact, it
   * counts as used, and one that is not connected (evicted) is started again
   * to receive what was queued for it. Returns at once; never rejects (a
   * failure is logged and counted).
   */
  wakeContact(account: Account): void;
  /** A device of `from` sent a chat state to `to` (typing...): recorded for `to` when it is a fake contact. */
  chatState(from: Account, to: Account, state: 'composing' | 'paused' | 'recording'): void;
  /** A device of `from` sent `to` a read receipt for these messages: recorded for `to` when it is a fake contact. */
  readReceipt(from: Account, to: Account, waMessageIds: string[]): void;
  /** Where clients upload and download media (the `media_conn` iq); null while the media server is not running. */
  mediaConn(): MediaConnInfo | null;
  /** Logs and counts the failure of background work (it must not become an unhandled rejection). */
  backgroundFailed(what: string, error: unknown): void;
}
