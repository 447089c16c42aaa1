// WireGuard keys made the way devices make them: `wg genkey` and `wg pubkey` (private key on stdin).
// (Not node:crypto: on Node.js 20, generateKeyPairSync('x25519') + export({ format: 'jwk' }) can
// deadlock the process in a garbage collection, which a lab of 50+ devices runs into.)
import { must } from './exec.js';

const WG_KEY = /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/;

export async function wgKeyPair(): Promise<{ privateKey: string; publicKey: string }> {
  const privateKey = (await must('wg', ['genkey'])).trim();
  const publicKey = (await must('wg', ['pubkey'], { input: `${privateKey}\n` })).trim();
  if (!WG_KEY.test(privateKey) || !WG_KEY.test(publicKey))
    throw new Error('wg genkey/pubkey returned something that is not a WireGuard key');
  return { privateKey, publicKey };
}
