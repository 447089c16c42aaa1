// @peculiar/x509 uses tsyringe, which needs the metadata polyfill loaded first (main.ts loads it too).
import 'reflect-metadata';
import { createPublicKey, webcrypto, type KeyObject } from 'node:crypto';
import * as x509 from '@peculiar/x509';

/** Fixed validity: the certificate only carries the key (SAML trusts keys, not validity dates), and must be the same everywhere. */
const NOT_BEFORE = new Date('2020-01-01T00:00:00Z');
const NOT_AFTER = new Date('2099-12-31T23:59:59Z');
const ALGORITHM = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };

export interface SpCertificate {
  keyId: string;
  /** PEM, as the metadata and node-saml take it. */
  pem: string;
}

const cache = new Map<string, Promise<SpCertificate>>();

/**
 * The SAML service provider's certificate for a saml-sp key: self-signed and deterministic
 * (serial and name from the key id, fixed validity, RSASSA-PKCS1-v1_5 signatures are
 * deterministic), so every API instance and every restart derives the same certificate from the
 * key in the KeyStore without storing it. The IdP registers it once per key.
 */
export function spCertificate(keyId: string, privateKey: KeyObject): Promise<SpCertificate> {
  let certificate = cache.get(keyId);
  if (!certificate) {
    certificate = deriveSpCertificate(keyId, privateKey);
    // A failure is not cached: the next request tries again.
    certificate.catch(() => cache.delete(keyId));
    cache.set(keyId, certificate);
  }
  return certificate;
}

/** The certificate, derived afresh (spCertificate caches it). */
export async function deriveSpCertificate(keyId: string, privateKey: KeyObject): Promise<SpCertificate> {
  if (!/^[0-9a-f]{16}$/.test(keyId)) throw new Error('a saml-sp key id is 16 hex digits');
  const subtle = webcrypto.subtle;
  const signingKey = await subtle.importKey('pkcs8', privateKey.export({ format: 'der', type: 'pkcs8' }), ALGORITHM, false, ['sign']);
  const publicKey = await subtle.importKey('spki', createPublicKey(privateKey).export({ format: 'der', type: 'spki' }), ALGORITHM, true, [
    'verify',
  ]);
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    // A leading 01 keeps the DER integer positive whatever the key id's first digit.
    serialNumber: `01${keyId}`,
    name: `CN=xSPECTRE SAML service provider ${keyId}`,
    notBefore: NOT_BEFORE,
    notAfter: NOT_AFTER,
    signingAlgorithm: ALGORITHM,
    keys: { privateKey: signingKey, publicKey } as never,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
    ],
  });
  return { keyId, pem: certificate.toString('pem') };
}
