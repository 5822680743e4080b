import { createSecureContext } from 'node:tls';
import { generateKeyPairSync } from 'node:crypto';
import forge from 'node-forge';
import { serial } from './media-tls';

describe('serial', () => {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const certWith = (serialNumber: string) => {
    const cert = forge.pki.createCertificate();
    cert.publicKey = forge.pki.publicKeyFromPem(publicKey.export({ type: 'spki', format: 'pem' }).toString());
    cert.serialNumber = serialNumber;
    cert.validity.notBefore = new Date();
    cert.validity.notAfter = new Date(Date.now() + 3_600_000);
    cert.setSubject([{ name: 'commonName', value: 'serial test' }]);
    cert.setIssuer([{ name: 'commonName', value: 'serial test' }]);
    cert.sign(forge.pki.privateKeyFromPem(privateKey.export({ type: 'pkcs1', format: 'pem' }).toString()), forge.md.sha256.create());
    return forge.pki.certificateToPem(cert);
  };

  it('gives a certificate OpenSSL accepts whatever the random bytes (a leading 0x00 made an illegal DER integer)', () => {
    for (const first of [0x00, 0x01, 0x7f, 0x80, 0xff]) {
      const bytes = String.fromCharCode(first, 0x11) + '\xab'.repeat(14);
      const hex = serial(() => bytes);
      expect(hex).toMatch(/^(0[1-9a-f]|[1-7][0-9a-f])[0-9a-f]{30}$/);
      expect(() => createSecureContext({ key: privateKey.export({ type: 'pkcs8', format: 'pem' }), cert: certWith(hex) })).not.toThrow();
    }
  });
});
