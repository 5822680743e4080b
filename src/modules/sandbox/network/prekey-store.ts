import type { BinaryNode } from '@whiskeysockets/baileys';
import { child, childrenByTag, contentBytes } from './binary-node';

/**
 * The Signal key bundle one device uploaded (`<iq xmlns="encrypt" type="set">`):
 * registration id, identity key, signed pre-key and a pool of one-time
 * pre-keys, which the server hands out one per bundle fetch, as WhatsApp does.
 *
 * One-time pre-keys are kept packed in a single buffer (3-byte id + 32-byte
 * key each): a fresh Baileys account uploads 812 of them, and hundreds of
 * accounts must fit in one test process.
 */
const ENTRY_BYTES = 35;

export class PreKeyStore {
  private registration: Buffer;
  private identity: Buffer;
  private signedPreKey: BinaryNode;
  private pool: Buffer = Buffer.alloc(0);
  private next = 0;

  private constructor(registration: Buffer, identity: Buffer, signedPreKey: BinaryNode) {
    this.registration = registration;
    this.identity = identity;
    this.signedPreKey = signedPreKey;
  }

  /** Parses an upload stanza; null when it lacks the identity parts. */
  static fromUpload(upload: BinaryNode): PreKeyStore | null {
    const registration = contentBytes(child(upload, 'registration'));
    const identity = contentBytes(child(upload, 'identity'));
    const skey = child(upload, 'skey');
    if (!registration || !identity || !skey) return null;
    const store = new PreKeyStore(registration, identity, skey);
    store.addPreKeys(upload);
    return store;
  }

  /** Re-upload from the same device: new identity material replaces the old, pre-keys are added. */
  update(upload: BinaryNode): void {
    const registration = contentBytes(child(upload, 'registration'));
    const identity = contentBytes(child(upload, 'identity'));
    const skey = child(upload, 'skey');
    if (registration) this.registration = registration;
    if (identity) this.identity = identity;
    if (skey) this.signedPreKey = skey;
    this.addPreKeys(upload);
  }

  /** `<iq xmlns="encrypt"><rotate><skey/></rotate>`: a new signed pre-key. */
  rotateSignedPreKey(skey: BinaryNode): void {
    this.signedPreKey = skey;
  }

  get remaining(): number {
    return (this.pool.length - this.next) / ENTRY_BYTES;
  }

  get identityKey(): Buffer {
    return this.identity;
  }

  /**
   * The `<user>` content of a bundle fetch, consuming one one-time pre-key
   * when any is left (a bundle without one is valid Signal: the session then
   * starts from the signed pre-key alone).
   */
  takeBundle(): BinaryNode[] {
    const nodes: BinaryNode[] = [
      { tag: 'registration', attrs: {}, content: this.registration },
      { tag: 'type', attrs: {}, content: Buffer.from([5]) },
      { tag: 'identity', attrs: {}, content: this.identity },
      this.signedPreKey,
    ];
    if (this.next < this.pool.length) {
      const entry = this.pool.subarray(this.next, this.next + ENTRY_BYTES);
      this.next += ENTRY_BYTES;
      nodes.push({
        tag: 'key',
        attrs: {},
        content: [
          { tag: 'id', attrs: {}, content: Buffer.from(entry.subarray(0, 3)) },
          { tag: 'value', attrs: {}, content: Buffer.from(entry.subarray(3)) },
        ],
      });
      this.compactIfMostlyUsed();
    }
    return nodes;
  }

  private addPreKeys(upload: BinaryNode): void {
    const keys = childrenByTag(child(upload, 'list'), 'key');
    if (!keys.length) return;
    const packed = Buffer.alloc(keys.length * ENTRY_BYTES);
    let n = 0;
    for (const key of keys) {
      const id = contentBytes(child(key, 'id'));
      const value = contentBytes(child(key, 'value'));
      if (!id || id.length !== 3 || !value || value.length !== 32) continue;
      id.copy(packed, n * ENTRY_BYTES);
      value.copy(packed, n * ENTRY_BYTES + 3);
      n++;
    }
    this.pool = Buffer.concat([this.pool.subarray(this.next), packed.subarray(0, n * ENTRY_BYTES)]);
    this.next = 0;
  }

  private compactIfMostlyUsed(): void {
    if (this.next > 64 * ENTRY_BYTES && this.next * 2 > this.pool.length) {
      this.pool = Buffer.from(this.pool.subarray(this.next));
      this.next = 0;
    }
  }
}
