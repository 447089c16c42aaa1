import { createPublicKey, type KeyObject } from 'node:crypto';
import { createRequire } from 'node:module';
import ssh2, { type AuthenticationType, type Client, type ParsedKey } from 'ssh2';

// ssh2's protocol internals (no types, not in its public API): exactly what certificateLogin needs.
const protocolUtils = createRequire(import.meta.url)('ssh2/lib/protocol/utils.js') as {
  sendPacket(protocol: unknown, packet: Buffer): void;
};

const CERT_ALGORITHM = 'ssh-ed25519-cert-v01@openssh.com';
const SIGNATURE_ALGORITHM = 'ssh-ed25519';
const USERAUTH_REQUEST = 50;

/** A fresh Ed25519 key pair for one session: ssh2's parsed private key and the public half as a KeyObject (to certify). */
export function generateSessionKey(): { privateKey: ParsedKey; publicKey: KeyObject } {
  const pair = ssh2.utils.generateKeyPairSync('ed25519');
  const privateKey = ssh2.utils.parseKey(pair.private);
  if (privateKey instanceof Error || Array.isArray(privateKey)) throw new Error('ssh2 could not parse the key it generated');
  const raw = Buffer.from(pair.public.split(' ')[1] ?? '', 'base64').subarray(-32);
  const publicKey = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' });
  return { privateKey, publicKey };
}

function sshString(value: Buffer | string): Buffer {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes.length);
  return Buffer.concat([length, bytes]);
}

interface ProtocolInternals {
  authPK(username: string, key: unknown, keyAlgo?: unknown, cbSign?: unknown): void;
  _kex: { sessionID: Buffer };
  _authsQueue: string[];
  _packetRW: { write: { alloc(length: number): Buffer; allocStart: number; finalize(packet: Buffer): Buffer } };
}

/**
 * ssh2 (1.17) has no OpenSSH certificate login (mscdex/ssh2#551): it would name the certificate
 * type as the signature algorithm too, which sshd refuses. Login with a certificate is the
 * ordinary publickey method (RFC 4252 §7) with the certificate as the public key blob and a plain
 * `ssh-ed25519` signature; this writes exactly that request, on this one connection's protocol
 * object, and leaves every other key to ssh2. Checked against OpenSSH's sshd by
 * api/test/ssh-certificate-login.spec.ts.
 *
 * Returns the `authHandler` for `client.connect`: one attempt, with the certificate.
 */
export function certificateLogin(
  client: Client,
  login: { username: string; privateKey: ParsedKey; certificate: Buffer },
): (methodsLeft: AuthenticationType[] | null, partialSuccess: boolean | null, next: (auth: unknown) => void) => void {
  // ssh2 accepts the key object (it keeps ssh2's private marker through the prototype); only the public side differs.
  const certKey = Object.create(login.privateKey, {
    type: { value: CERT_ALGORITHM },
    getPublicSSH: { value: () => login.certificate },
  }) as ParsedKey;
  let attempted = false;
  return (_methodsLeft, _partial, next) => {
    if (attempted) return next(false);
    attempted = true;
    const protocol = (client as unknown as { _protocol: ProtocolInternals })._protocol;
    const original = protocol.authPK.bind(protocol);
    protocol.authPK = (username: string, key: unknown, keyAlgo?: unknown, cbSign?: unknown) => {
      if (key !== certKey) return original(username, key, keyAlgo, cbSign);
      const sign = (typeof keyAlgo === 'function' ? keyAlgo : cbSign) as
        ((data: Buffer, done: (signature: Buffer) => void) => void) | undefined;
      const head = Buffer.concat([
        Buffer.from([USERAUTH_REQUEST]),
        sshString(username),
        sshString('ssh-connection'),
        sshString('publickey'),
      ]);
      const tail = Buffer.concat([sshString(CERT_ALGORITHM), sshString(login.certificate)]);
      const send = (payload: Buffer) => {
        const packet = protocol._packetRW.write.alloc(payload.length);
        packet.set(payload, protocol._packetRW.write.allocStart);
        protocol._authsQueue.push('publickey');
        protocolUtils.sendPacket(protocol, protocol._packetRW.write.finalize(packet));
      };
      if (!sign) return send(Buffer.concat([head, Buffer.from([0]), tail]));
      const signed = Buffer.concat([sshString(protocol._kex.sessionID), head, Buffer.from([1]), tail]);
      sign(signed, (signature) => {
        const blob = sshString(Buffer.concat([sshString(SIGNATURE_ALGORITHM), sshString(signature)]));
        send(Buffer.concat([head, Buffer.from([1]), tail, blob]));
      });
    };
    next({ type: 'publickey', username: login.username, key: certKey });
  };
}
