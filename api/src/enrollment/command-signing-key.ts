import { createPrivateKey, createPublicKey } from 'node:crypto';

/** PKCS#8 DER prefix of an Ed25519 private key, followed by its 32-byte seed. */
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/** The public half of the command-signing key, as the PEM the agent pins at enrollment. */
export function commandSigningPublicKeyPem(seed: Buffer): string {
  const privateKey = createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
  return createPublicKey(privateKey).export({ format: 'pem', type: 'spki' }).toString();
}
