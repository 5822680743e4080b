import {
  aesDecryptGCM,
  aesEncryptGCM,
  Curve,
  hkdf,
  NOISE_MODE,
  proto,
  sha256,
  type KeyPair,
} from '@whiskeysockets/baileys';
import type { TestPki } from './test-pki';

/**
 * Server side of WhatsApp Web's Noise XX handshake
 * (`Noise_XX_25519_AESGCM_SHA256`), mirroring Baileys' client noise handler:
 *
 *   client -> e                    (clientHello.ephemeral)
 *   server -> e, ee, s, es + cert  (serverHello)
 *   client -> s, se + payload      (clientFinish: static key, ClientPayload)
 *
 * after which both sides derive two AES-256-GCM transport keys with a frame
 * counter as IV. One instance per connection; not reusable.
 */
export class NoiseResponder {
  private hash: Buffer;
  private salt: Buffer;
  private cipherKey: Buffer;
  private counter = 0;
  private ephemeral: KeyPair | null = null;
  private transport: { encKey: Buffer; decKey: Buffer; writeCounter: number; readCounter: number } | null = null;

  /** @param introHeader the `W A x y` header the client sent (authenticated into the handshake hash). */
  constructor(
    private readonly pki: TestPki,
    introHeader: Uint8Array,
  ) {
    const mode = Buffer.from(NOISE_MODE);
    this.hash = mode.length === 32 ? mode : sha256(mode);
    this.salt = this.hash;
    this.cipherKey = this.hash;
    this.authenticate(introHeader);
  }

  get established(): boolean {
    return this.transport !== null;
  }

  /** Answers the client hello; returns the encoded `HandshakeMessage` with the server hello. */
  respondToHello(clientEphemeral: Uint8Array): Uint8Array {
    this.authenticate(clientEphemeral);
    const ephemeral = Curve.generateKeyPair();
    this.ephemeral = ephemeral;
    this.authenticate(ephemeral.public);
    this.mixIntoKey(Curve.sharedKey(ephemeral.private, clientEphemeral));
    const encryptedStatic = this.encryptHandshake(this.pki.serverStatic.public);
    this.mixIntoKey(Curve.sharedKey(this.pki.serverStatic.private, clientEphemeral));
    const encryptedCert = this.encryptHandshake(this.pki.certChain);
    return proto.HandshakeMessage.encode({
      serverHello: { ephemeral: ephemeral.public, static: encryptedStatic, payload: encryptedCert },
    }).finish();
  }

  /**
   * Completes the handshake with the client finish; returns the client's
   * static Noise key and its ClientPayload (login or registration). Throws
   * when the client's messages do not authenticate.
   */
  finish(clientFinish: proto.HandshakeMessage.IClientFinish): { clientStaticKey: Buffer; payload: proto.ClientPayload } {
    if (!this.ephemeral) throw new Error('client finish before client hello');
    if (!clientFinish.static || !clientFinish.payload) throw new Error('client finish without static key or payload');
    const clientStaticKey = this.decryptHandshake(clientFinish.static);
    this.mixIntoKey(Curve.sharedKey(this.ephemeral.private, clientStaticKey));
    const payload = proto.ClientPayload.decode(this.decryptHandshake(clientFinish.payload));
    const keys = Buffer.from(hkdf(Buffer.alloc(0), 64, { salt: this.salt, info: '' }));
    // The client writes with the first half and reads with the second: the server mirrors it.
    this.transport = { decKey: keys.subarray(0, 32), encKey: keys.subarray(32), writeCounter: 0, readCounter: 0 };
    this.ephemeral = null;
    return { clientStaticKey, payload };
  }

  /** Encrypts one transport payload (an encoded binary node). */
  encrypt(plaintext: Uint8Array): Buffer {
    const t = this.requireTransport();
    return aesEncryptGCM(plaintext, t.encKey, counterIv(t.writeCounter++), EMPTY);
  }

  /** Decrypts one transport frame; throws when it does not authenticate. */
  decrypt(ciphertext: Uint8Array): Buffer {
    const t = this.requireTransport();
    return aesDecryptGCM(ciphertext, t.decKey, counterIv(t.readCounter++), EMPTY);
  }

  private requireTransport() {
    if (!this.transport) throw new Error('noise transport used before the handshake finished');
    return this.transport;
  }

  private authenticate(data: Uint8Array): void {
    this.hash = sha256(Buffer.concat([this.hash, data]));
  }

  private mixIntoKey(data: Uint8Array): void {
    const key = Buffer.from(hkdf(Buffer.from(data), 64, { salt: this.salt, info: '' }));
    this.salt = key.subarray(0, 32);
    this.cipherKey = key.subarray(32);
    this.counter = 0;
  }

  private encryptHandshake(plaintext: Uint8Array): Buffer {
    const result = aesEncryptGCM(plaintext, this.cipherKey, counterIv(this.counter++), this.hash);
    this.authenticate(result);
    return result;
  }

  private decryptHandshake(ciphertext: Uint8Array): Buffer {
    const result = aesDecryptGCM(ciphertext, this.cipherKey, counterIv(this.counter++), this.hash);
    this.authenticate(ciphertext);
    return result;
  }
}

const EMPTY = Buffer.alloc(0);

function counterIv(counter: number): Buffer {
  const iv = Buffer.alloc(12);
  iv.writeUInt32BE(counter, 8);
  return iv;
}
