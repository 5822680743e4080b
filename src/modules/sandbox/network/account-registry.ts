import { createHash } from 'node:crypto';
import { Curve, type BinaryNode, type KeyPair } from '@whiskeysockets/baileys';
import type { PreKeyStore } from './prekey-store';
import type { SandboxConnection } from './sandbox-connection';

/**
 * Who exists on the fake network. An account is a phone number with a LID
 * (WhatsApp's privacy id) and devices: device 0 is the primary phone, devices
 * 1.. are linked companions (a paired ZapHub session is one). A device is known
 * once it paired or logged in; it can receive messages once it uploaded its
 * Signal keys; it is online while it has a live connection.
 */
export type AccountKind = 'session' | 'contact';

/** Stanzas kept for an offline device, delivered when it logs in again (bounded, oldest dropped). */
export const MAX_OFFLINE_STANZAS = 1000;

/**
 * Device id reported as an extra companion of an account that has a single
 * device, in answers to that account's own device queries. Real accounts
 * always have more than one device; a lone Baileys device gets an own-device
 * list it filters to empty and never caches, and then re-queries devices and
 * rebuilds Signal sessions on every send (NOTES.md). Stanzas for it are dropped.
 * (Not 99: Baileys reserves that id for hosted devices.)
 */
export const PHANTOM_COMPANION_ID = 90;

export class Device {
  keys: PreKeyStore | null = null;
  connection: SandboxConnection | null = null;
  /** Allocated on first use: most devices never go offline with stanzas pending. */
  private offline: BinaryNode[] | null = null;
  /**
   * Message stanzas a connection of this device was sent and has not receipted
   * yet, by message id, in delivery order. WhatsApp keeps a message until the
   * device's receipt: one the device never confirmed (it crashed after reading
   * it) is delivered again at its next login. Allocated on first use.
   */
  private unreceipted: Map<string, { stanza: BinaryNode; connection: object }> | null = null;

  constructor(readonly id: number) {}

  queueOffline(stanza: BinaryNode): void {
    this.offline ??= [];
    this.offline.push(stanza);
    if (this.offline.length > MAX_OFFLINE_STANZAS) this.offline.shift();
  }

  /** `stanza` went to `connection` (live, or from the offline queue at login): a message stays owed until receipted. */
  delivered(connection: object, stanza: BinaryNode): void {
    const id = stanza.attrs.id;
    if (stanza.tag !== 'message' || !id) return;
    this.unreceipted ??= new Map();
    this.unreceipted.delete(id); // a re-delivery moves to the end: delivery order
    this.unreceipted.set(id, { stanza, connection });
    // Bounded like the offline queue: a device that never receipts cannot grow the server.
    if (this.unreceipted.size > MAX_OFFLINE_STANZAS) this.unreceipted.delete(this.unreceipted.keys().next().value as string);
  }

  /** The device confirmed these messages (`<receipt>` of any type, or `<ack class="message">`): no longer owed. */
  receipted(ids: string[]): void {
    if (!this.unreceipted) return;
    for (const id of ids) this.unreceipted.delete(id);
    if (this.unreceipted.size === 0) this.unreceipted = null;
  }

  /**
   * `connection` closed: what it never receipted goes back to the front of
   * the offline queue, in delivery order, marked offline, for the next login.
   * Returns how many stanzas were requeued.
   */
  connectionClosed(connection: object): number {
    if (!this.unreceipted) return 0;
    const owed: BinaryNode[] = [];
    for (const [id, entry] of this.unreceipted) {
      if (entry.connection !== connection) continue;
      owed.push({ ...entry.stanza, attrs: { ...entry.stanza.attrs, offline: '1' } });
      this.unreceipted.delete(id);
    }
    if (this.unreceipted.size === 0) this.unreceipted = null;
    if (owed.length === 0) return 0;
    const queue = [...owed, ...(this.offline ?? [])];
    // Same bound as queueOffline: the oldest go first.
    this.offline = queue.length > MAX_OFFLINE_STANZAS ? queue.slice(queue.length - MAX_OFFLINE_STANZAS) : queue;
    return owed.length;
  }

  /** Messages sent and not receipted yet (for tests and stats). */
  get unreceiptedCount(): number {
    return this.unreceipted?.size ?? 0;
  }

  takeOffline(): BinaryNode[] {
    const stanzas = this.offline ?? [];
    this.offline = null;
    return stanzas;
  }
}

export class Account {
  kind: AccountKind | null = null;
  /** Push name the account's devices announced (sent along as `notify`). */
  pushName: string | null = null;
  /** The phone's account signature key, which signs every companion it links (made on first link). */
  private primaryKey: KeyPair | null = null;
  readonly devices = new Map<number, Device>();
  private readonly removed = new Set<number>();

  constructor(
    readonly phone: string,
    readonly lid: string,
  ) {}

  get pnJid(): string {
    return `${this.phone}@s.whatsapp.net`;
  }

  get lidJid(): string {
    return `${this.lid}@lid`;
  }

  get primaryIdentity(): KeyPair {
    this.primaryKey ??= Curve.generateKeyPair();
    return this.primaryKey;
  }

  device(id: number): Device {
    let device = this.devices.get(id);
    if (!device) {
      device = new Device(id);
      this.devices.set(id, device);
    }
    return device;
  }

  /** The next companion device id (real WhatsApp never reuses one). */
  allocateCompanionId(): number {
    let id = 1;
    for (const known of [...this.devices.keys(), ...this.removed]) id = Math.max(id, known + 1);
    return id === PHANTOM_COMPANION_ID ? id + 1 : id;
  }

  /** Unlinks a device (logout, or a sandbox 401): its later logins fail with 401. */
  remove(id: number): void {
    this.removed.add(id);
    this.devices.delete(id);
  }

  /**
   * Forgets a device without unlinking it (a fake contact whose keys the
   * sandbox dropped): it has no keys until it logs in and uploads new ones.
   */
  forgetDevice(id: number): void {
    this.devices.delete(id);
  }

  isRemoved(id: number): boolean {
    return this.removed.has(id);
  }

  /** Devices with uploaded keys: the ones a sender encrypts for. */
  get keyedDeviceIds(): number[] {
    return [...this.devices.values()].filter((d) => d.keys).map((d) => d.id);
  }

  /**
   * The device list a usync query gets: every keyed device, plus the primary
   * phone (device 0) that every real account has, plus a phantom companion
   * when the account asks about itself and would otherwise see only itself.
   */
  reportedDeviceIds(askedBySelf: boolean): number[] {
    const ids = new Set(this.keyedDeviceIds);
    if (ids.size === 0) return [];
    ids.add(0);
    if (askedBySelf && ids.size === 1) ids.add(PHANTOM_COMPANION_ID);
    return [...ids].sort((a, b) => a - b);
  }

  /** Keys to serve for `deviceId`: its own, or, for a phantom device, those of a real one. */
  bundleSource(deviceId: number): PreKeyStore | null {
    const own = this.devices.get(deviceId)?.keys;
    if (own) return own;
    for (const device of this.devices.values()) if (device.keys) return device.keys;
    return null;
  }

  /** True when `deviceId` is a device the sandbox reports but nobody runs (primary phone of a session, phantom companion). */
  isPhantom(deviceId: number): boolean {
    return !this.devices.get(deviceId)?.keys;
  }
}

export class AccountRegistry {
  private readonly byPhone = new Map<string, Account>();
  private readonly byLid = new Map<string, Account>();

  get size(): number {
    return this.byPhone.size;
  }

  get(phone: string): Account | undefined {
    return this.byPhone.get(phone);
  }

  /** The account of a phone number, created on first use (every number is a WhatsApp user). */
  ensure(phone: string): Account {
    let account = this.byPhone.get(phone);
    if (!account) {
      account = new Account(phone, this.allocateLid(phone));
      this.byPhone.set(phone, account);
      this.byLid.set(account.lid, account);
    }
    return account;
  }

  /**
   * Resolves the user part of a JID: a LID for server `lid` (only LIDs the
   * sandbox issued), otherwise a phone number (created on first use).
   */
  resolve(user: string, server: string): Account | undefined {
    if (server === 'lid') return this.byLid.get(user);
    if (server === 's.whatsapp.net' || server === 'c.us') return /^\d{5,20}$/.test(user) ? this.ensure(user) : undefined;
    return undefined;
  }

  /**
   * LIDs are derived from the phone number (15 digits starting with 2), so a
   * restarted sandbox gives a number the same LID its clients stored before.
   */
  private allocateLid(phone: string): string {
    for (let attempt = 0; ; attempt++) {
      const digest = createHash('sha256').update(`lid:${phone}:${attempt}`).digest();
      const lid = `2${(digest.readBigUInt64BE(0) % 10n ** 14n).toString().padStart(14, '0')}`;
      if (!this.byLid.has(lid)) return lid;
    }
  }
}
