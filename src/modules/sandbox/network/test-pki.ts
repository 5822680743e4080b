import { Curve, proto, type KeyPair } from '@whiskeysockets/baileys';

/**
 * The sandbox's own certificate chain: test root -> intermediate -> leaf, the
 * leaf certifying the server's static Noise key. It mirrors WhatsApp's chain
 * (the client checks the intermediate against `WA_CERT_DETAILS.PUBLIC_KEY` and
 * issuer serial 0, and the leaf against the intermediate), but the root is
 * generated here, so a client trusts the sandbox only when its process set
 * `WA_CERT_DETAILS.PUBLIC_KEY` to `rootPublicKey`. Nothing captured from
 * WhatsApp is used.
 */
export interface TestPki {
  rootPublicKey: Buffer;
  /** The server's static Noise key pair (certified by the leaf). */
  serverStatic: KeyPair;
  /** Encoded `proto.CertChain`, sent encrypted in the server hello. */
  certChain: Uint8Array;
}

const TEN_YEARS_S = 10 * 365 * 24 * 3600;

/**
 * Generates a fresh chain (two Curve signatures, a few tens of ms). Pass `root`
 * (a Baileys `{public, private}` Curve25519 pair) to reuse a root key.
 */
export function createTestPki(root: KeyPair = Curve.generateKeyPair()): TestPki {
  const intermediate = Curve.generateKeyPair();
  const serverStatic = Curve.generateKeyPair();
  const now = Math.floor(Date.now() / 1000);
  const details = (serial: number, issuerSerial: number, key: Uint8Array) =>
    proto.CertChain.NoiseCertificate.Details.encode({
      serial,
      issuerSerial,
      key,
      notBefore: now - 3600,
      notAfter: now + TEN_YEARS_S,
    }).finish();
  // WhatsApp's long-term root has serial 0; the client requires the intermediate's issuerSerial to match it.
  const intermediateDetails = details(1, 0, intermediate.public);
  const leafDetails = details(2, 1, serverStatic.public);
  const certChain = proto.CertChain.encode({
    intermediate: { details: intermediateDetails, signature: Curve.sign(root.private, intermediateDetails) },
    leaf: { details: leafDetails, signature: Curve.sign(intermediate.private, leafDetails) },
  }).finish();
  return { rootPublicKey: Buffer.from(root.public), serverStatic, certChain };
}
