/**
 * The pairing QR payload of Baileys 7 rc14:
 * `https://wa.me/settings/linked_devices#ref,noiseKeyB64,identityKeyB64,advSecretB64,platform`.
 */
export const PAIRING_QR_PREFIX = 'https://wa.me/settings/linked_devices#';

export interface PairingQr {
  ref: string;
  noiseKeyB64: string;
  identityKeyB64: string;
  advSecretB64: string;
  platform: string;
}

/** null when the string is not a pairing QR of that shape. */
export function parsePairingQr(qr: string): PairingQr | null {
  if (!qr.startsWith(PAIRING_QR_PREFIX)) return null;
  const fields = qr.slice(PAIRING_QR_PREFIX.length).split(',');
  if (fields.length < 5) return null;
  // The four trailing fields are base64 or digits (no commas); take them from
  // the end so an unexpected comma in the server's ref cannot shift them.
  const [noiseKeyB64, identityKeyB64, advSecretB64, platform] = fields.slice(-4);
  const ref = fields.slice(0, -4).join(',');
  if (!ref || !noiseKeyB64 || !identityKeyB64 || !advSecretB64) return null;
  return { ref, noiseKeyB64, identityKeyB64, advSecretB64, platform };
}

export function formatPairingQr(qr: PairingQr): string {
  return PAIRING_QR_PREFIX + [qr.ref, qr.noiseKeyB64, qr.identityKeyB64, qr.advSecretB64, qr.platform].join(',');
}
