import { generateKeyPair, type KeyObject } from 'node:crypto';
import { isIP } from 'node:net';
import { promisify } from 'node:util';
import forge from 'node-forge';

/** The sandbox media server's TLS material: a test CA and the server certificate it signed. */
export interface MediaTls {
  /** PEM of the test CA: what a client adds to its trusted roots (in sandbox mode only). */
  caPem: string;
  certPem: string;
  keyPem: string;
}

const generateRsa = promisify(generateKeyPair);
/** Long enough for any test run, short enough that a leaked CA is soon worthless. */
const VALIDITY_MS = 30 * 24 * 3600 * 1000;

/**
 * Generates, in memory, a fresh certificate authority and a server
 * certificate for `hosts` (IP addresses and DNS names). New at every start,
 * never written to disk: a client trusts exactly the sandbox that is running.
 * Node's crypto makes the keys (fast, native); node-forge writes the X.509
 * certificates, which Node cannot create.
 */
export async function createMediaTls(hosts: string[]): Promise<MediaTls> {
  const [caKeys, serverKeys] = await Promise.all([rsa(), rsa()]);
  const notBefore = new Date(Date.now() - 3600 * 1000); // tolerate a clock a little behind
  const notAfter = new Date(notBefore.getTime() + VALIDITY_MS);
  const caSubject = [
    { name: 'commonName', value: 'ZapHub Sandbox Media Test CA (NOT FOR PRODUCTION)' },
    { name: 'organizationName', value: 'ZapHub sandbox' },
  ];

  const ca = forge.pki.createCertificate();
  ca.publicKey = forgePublicKey(caKeys.publicKey);
  ca.serialNumber = serial();
  ca.validity.notBefore = notBefore;
  ca.validity.notAfter = notAfter;
  ca.setSubject(caSubject);
  ca.setIssuer(caSubject);
  ca.setExtensions([
    { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  ca.sign(forgePrivateKey(caKeys.privateKey), forge.md.sha256.create());

  const server = forge.pki.createCertificate();
  server.publicKey = forgePublicKey(serverKeys.publicKey);
  server.serialNumber = serial();
  server.validity.notBefore = notBefore;
  server.validity.notAfter = notAfter;
  server.setSubject([{ name: 'commonName', value: hosts[0] ?? 'localhost' }]);
  server.setIssuer(caSubject);
  server.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    // TLS clients match the host against these (an IP only against IP entries).
    { name: 'subjectAltName', altNames: [...new Set(hosts)].map((host) => (isIP(host) ? { type: 7, ip: host } : { type: 2, value: host })) },
    { name: 'authorityKeyIdentifier', keyIdentifier: ca.generateSubjectKeyIdentifier().getBytes() },
  ]);
  server.sign(forgePrivateKey(caKeys.privateKey), forge.md.sha256.create());

  return {
    caPem: forge.pki.certificateToPem(ca),
    certPem: forge.pki.certificateToPem(server),
    keyPem: serverKeys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}

function rsa(): Promise<{ publicKey: KeyObject; privateKey: KeyObject }> {
  return generateRsa('rsa', { modulusLength: 2048 });
}

function forgePublicKey(key: KeyObject): forge.pki.PublicKey {
  return forge.pki.publicKeyFromPem(key.export({ type: 'spki', format: 'pem' }).toString());
}

function forgePrivateKey(key: KeyObject): forge.pki.rsa.PrivateKey {
  return forge.pki.privateKeyFromPem(key.export({ type: 'pkcs1', format: 'pem' }).toString());
}

/**
 * A random 16-byte serial whose first byte is 0x01-0x7f: positive, and
 * minimal in DER. (A "0" prefix before random bytes made a non-minimal
 * INTEGER whenever they began with 0x00 and a byte below 0x80, about one
 * certificate in 500, which OpenSSL refuses: "asn1 encoding routines::illegal
 * padding", and the sandbox failed to start.)
 */
export function serial(random: () => string = () => forge.random.getBytesSync(16)): string {
  const bytes = random();
  const first = (bytes.charCodeAt(0) & 0x7f) | 0x01;
  return forge.util.bytesToHex(String.fromCharCode(first) + bytes.slice(1));
}
