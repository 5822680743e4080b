/**
 * The QR string a WhatsApp Web companion shows (Baileys 7 rc14 format):
 * `https://wa.me/settings/linked_devices#ref,noiseKeyB64,identityKeyB64,advSecretB64,platform`.
 * The fake phone reads it the way a real phone does: the ref tells the server
 * which pending companion to link; the keys and the adv secret go into the
 * pairing answer.
 */
export const QR_PREFIX = 'https://wa.me/settings/linked_devices#';

export interface ParsedQr {
  ref: string;
  noiseKey: Buffer;
  identityKey: Buffer;
  advSecret: Buffer;
  /** Base64 of the adv secret exactly as the QR carries it (compared as text). */
  advSecretB64: string;
  platform: string;
}

export class QrParseError extends Error {}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** Parses and checks a QR string; throws QrParseError naming what is wrong. */
export function parseQr(qr: string): ParsedQr {
  if (typeof qr !== 'string' || !qr.startsWith(QR_PREFIX)) {
    throw new QrParseError(`QR must start with ${QR_PREFIX}`);
  }
  const parts = qr.slice(QR_PREFIX.length).split(',');
  if (parts.length < 4) throw new QrParseError('QR must carry ref, noise key, identity key and adv secret separated by commas');
  const [ref, noiseB64, identityB64, advB64, platform = ''] = parts as [string, string, string, string, string?];
  if (!ref) throw new QrParseError('QR ref is empty');
  const noiseKey = decodeKey(noiseB64, 'noise key', 32);
  const identityKey = decodeKey(identityB64, 'identity key', 32);
  const advSecret = decodeKey(advB64, 'adv secret', 32);
  return { ref, noiseKey, identityKey, advSecret, advSecretB64: advB64, platform };
}

/** Builds a QR string (used by tests and by clients that re-render a QR). */
export function formatQr(parts: { ref: string; noiseKey: Uint8Array; identityKey: Uint8Array; advSecretB64: string; platform?: string }): string {
  const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');
  return `${QR_PREFIX}${[parts.ref, b64(parts.noiseKey), b64(parts.identityKey), parts.advSecretB64, parts.platform ?? ''].join(',')}`;
}

function decodeKey(value: string, name: string, bytes: number): Buffer {
  if (!BASE64.test(value)) throw new QrParseError(`QR ${name} is not base64`);
  const decoded = Buffer.from(value, 'base64');
  if (decoded.length !== bytes) throw new QrParseError(`QR ${name} must be ${bytes} bytes, got ${decoded.length}`);
  return decoded;
}
