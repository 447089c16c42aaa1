import { createHash, type X509Certificate } from 'node:crypto';
import type { Agent as HttpsAgent } from 'node:https';
import type { Socket } from 'node:net';
import { httpsModule, tlsModule } from './builtins.js';

/** `curl --pinnedpubkey` form: sha256// + the base64 SHA-256 of the server key's SubjectPublicKeyInfo. */
export const KEY_PIN = /^sha256\/\/[A-Za-z0-9+/]{43}=$/;

/** The pin of a certificate's public key, as `curl --pinnedpubkey` and infra/proxy/private-ca.mjs print it. */
export function keyPinOf(certificate: X509Certificate): string {
  const spki = certificate.publicKey.export({ type: 'spki', format: 'der' });
  return `sha256//${createHash('sha256').update(spki).digest('base64')}`;
}

/**
 * An HTTPS agent that trusts exactly the server key `pin` names, instead of a CA chain: the
 * enrollment through a proxy with a private CA (infra/proxy/README.md), as bootstrap.sh's
 * `curl --insecure --pinnedpubkey`. The socket is handed to the request only after the key
 * matched, so nothing (the claim code) is written to a server that does not hold it.
 */
export function pinnedHttpsAgent(pin: string): HttpsAgent {
  if (!KEY_PIN.test(pin)) throw new Error('a key pin is sha256// and a base64 SHA-256 (44 characters)');
  const agent = new (httpsModule().Agent)({ keepAlive: false });
  // http.Agent calls createConnection(options, callback) and waits for the callback when it returns nothing.
  (agent as unknown as { createConnection: unknown }).createConnection = (
    options: Record<string, unknown>,
    callback: (error: Error | null, socket?: Socket) => void,
  ): undefined => {
    // The chain is not checked (a private CA): the key pin below is the whole trust decision.
    const socket = tlsModule().connect({ ...options, rejectUnauthorized: false });
    const onError = (error: Error) => callback(error);
    socket.once('error', onError);
    socket.once('secureConnect', () => {
      socket.off('error', onError);
      const certificate = socket.getPeerX509Certificate();
      const presented = certificate ? keyPinOf(certificate) : 'no certificate';
      if (presented === pin) return callback(null, socket);
      socket.destroy();
      callback(new Error(`the server's TLS key does not match the pin (it presented ${presented})`));
    });
    return undefined;
  };
  return agent;
}
