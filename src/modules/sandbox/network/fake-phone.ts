import { createCipheriv, createDecipheriv, createHmac, pbkdf2, randomBytes, randomInt } from 'node:crypto';
import { promisify } from 'node:util';
import { aesDecryptGCM, Curve, hkdf, proto, type BinaryNode, type KeyPair } from '@whiskeysockets/baileys';
import { SERVER_JID, unixNow } from './binary-node';

/**
 * What the primary phone does when it links a companion: sign the
 * companion's identity with the account key (ADV), authenticate that with the
 * adv secret the companion advertised (in the QR, or derived in the
 * pairing-code exchange), and hand it the device JID it gets.
 */
const pbkdf2Async = promisify(pbkdf2);

/** `[6, 0]`: prefix of the account signature over device details + companion identity. */
const ADV_ACCOUNT_SIGNATURE_PREFIX = Buffer.from([6, 0]);

export interface PairSuccessInput {
  clientIdentityKey: Uint8Array;
  advSecret: Uint8Array;
  /** The phone's account signature key pair (stable per account). */
  accountKey: KeyPair;
  phone: string;
  lid: string;
  deviceId: number;
  platform?: string;
}

/** The `<iq><pair-success>` stanza that completes a link. */
export function buildPairSuccess(input: PairSuccessInput): BinaryNode {
  const deviceDetails = proto.ADVDeviceIdentity.encode({
    rawId: randomInt(1, 2 ** 31 - 1),
    timestamp: Math.floor(Date.now() / 1000),
    keyIndex: input.deviceId,
  }).finish();
  const accountSignature = Curve.sign(
    input.accountKey.private,
    Buffer.concat([ADV_ACCOUNT_SIGNATURE_PREFIX, deviceDetails, input.clientIdentityKey]),
  );
  const details = proto.ADVSignedDeviceIdentity.encode({
    details: deviceDetails,
    accountSignatureKey: input.accountKey.public,
    accountSignature,
  }).finish();
  const hmac = createHmac('sha256', input.advSecret).update(details).digest();
  const container = proto.ADVSignedDeviceIdentityHMAC.encode({ details, hmac }).finish();
  return {
    tag: 'iq',
    attrs: { from: SERVER_JID, type: 'set', id: `pair-${randomBytes(6).toString('hex')}`, t: unixNow() },
    content: [
      {
        tag: 'pair-success',
        attrs: {},
        content: [
          { tag: 'device-identity', attrs: { 'key-index': String(input.deviceId) }, content: container },
          { tag: 'platform', attrs: { name: input.platform ?? 'android' } },
          {
            tag: 'device',
            attrs: { jid: `${input.phone}:${input.deviceId}@s.whatsapp.net`, lid: `${input.lid}:${input.deviceId}@lid` },
          },
        ],
      },
    ],
  };
}

/** Refs as WhatsApp issues them: opaque, comma-free (the QR is comma-separated). */
export function newRef(): string {
  return `2@${randomBytes(24).toString('base64')}`;
}

// ---- pairing code (link code) ---------------------------------------------

/** Key that wraps the ephemeral keys of the pairing-code exchange (PBKDF2-SHA256, 2^17 rounds, like WhatsApp). */
export async function pairingCodeKey(code: string, salt: Uint8Array): Promise<Buffer> {
  return pbkdf2Async(Buffer.from(code, 'utf8'), salt, 2 << 16, 32, 'sha256');
}

/** Opens `salt(32) | iv(16) | AES-256-CTR(public key)` with the code the user typed on the phone. */
export async function unwrapEphemeral(wrapped: Uint8Array, code: string): Promise<Buffer> {
  const bytes = Buffer.from(wrapped);
  if (bytes.length < 80) throw new Error('wrapped ephemeral key is too short');
  const key = await pairingCodeKey(code, bytes.subarray(0, 32));
  const decipher = createDecipheriv('aes-256-ctr', key, bytes.subarray(32, 48));
  return Buffer.concat([decipher.update(bytes.subarray(48, 80)), decipher.final()]);
}

/** Wraps the phone's ephemeral public key the same way for the companion. */
export async function wrapEphemeral(publicKey: Uint8Array, code: string): Promise<Buffer> {
  const salt = randomBytes(32);
  const iv = randomBytes(16);
  const key = await pairingCodeKey(code, salt);
  const cipher = createCipheriv('aes-256-ctr', key, iv);
  return Buffer.concat([salt, iv, cipher.update(publicKey), cipher.final()]);
}

export interface LinkCodeSecrets {
  primaryEphemeral: KeyPair;
  companionEphemeral: Buffer;
  primaryIdentity: KeyPair;
}

/**
 * Opens the companion's `link_code_pairing_wrapped_key_bundle` and derives the
 * adv secret both sides now share. Throws when the bundle does not
 * authenticate: the phone typed a wrong code.
 */
export function openKeyBundle(wrappedBundle: Uint8Array, secrets: LinkCodeSecrets): { companionIdentity: Buffer; advSecret: Buffer } {
  const bytes = Buffer.from(wrappedBundle);
  const companionShared = Curve.sharedKey(secrets.primaryEphemeral.private, secrets.companionEphemeral);
  const bundleKey = Buffer.from(
    hkdf(companionShared, 32, { salt: bytes.subarray(0, 32), info: 'link_code_pairing_key_bundle_encryption_key' }),
  );
  const plaintext = aesDecryptGCM(bytes.subarray(44), bundleKey, bytes.subarray(32, 44), Buffer.alloc(0));
  const companionIdentity = plaintext.subarray(0, 32);
  const random = plaintext.subarray(64, 96);
  const identityShared = Curve.sharedKey(secrets.primaryIdentity.private, companionIdentity);
  const advSecret = Buffer.from(hkdf(Buffer.concat([companionShared, identityShared, random]), 32, { info: 'adv_secret' }));
  return { companionIdentity: Buffer.from(companionIdentity), advSecret };
}
