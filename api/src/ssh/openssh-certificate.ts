import { createPublicKey, randomBytes, sign, type KeyObject } from 'node:crypto';

/**
 * OpenSSH user certificates for terminal and file sessions (issue 14): Ed25519 only, in the
 * format of OpenSSH's PROTOCOL.certkeys, signed by the API's SSH user CA (key store purpose
 * `ssh-user-ca`). A certificate names one principal, lives minutes, may only be used from one
 * source address (the hub's overlay address), and carries a key id naming the operator and the
 * session, which the device's sshd writes to its auth log.
 */
const CERT_TYPE = 'ssh-ed25519-cert-v01@openssh.com';
const KEY_TYPE = 'ssh-ed25519';
const USER_CERT = 1;

/** An SSH wire `string`: uint32 length, then the bytes. */
function sshString(value: Buffer | string): Buffer {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes.length);
  return Buffer.concat([length, bytes]);
}

function uint64(value: bigint): Buffer {
  const out = Buffer.alloc(8);
  out.writeBigUInt64BE(value);
  return out;
}

function uint32(value: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(value);
  return out;
}

/** The raw 32-byte Ed25519 public key of a KeyObject (from its SPKI DER, whose last 32 bytes it is). */
export function ed25519Raw(key: KeyObject): Buffer {
  const publicKey = key.type === 'private' ? createPublicKey(key) : key;
  if (publicKey.asymmetricKeyType !== 'ed25519')
    throw new TypeError(`an Ed25519 key is needed, got ${publicKey.asymmetricKeyType ?? key.type}`);
  const der = publicKey.export({ format: 'der', type: 'spki' });
  return der.subarray(der.length - 32);
}

/** The SSH wire blob of an Ed25519 public key. */
export function ed25519Blob(key: KeyObject): Buffer {
  return Buffer.concat([sshString(KEY_TYPE), sshString(ed25519Raw(key))]);
}

/** `ssh-ed25519 AAAA… comment`, as authorized_keys and TrustedUserCAKeys take it. */
export function opensshPublicKey(key: KeyObject, comment = ''): string {
  return `${KEY_TYPE} ${ed25519Blob(key).toString('base64')}${comment ? ` ${comment}` : ''}`;
}

export interface UserCertificateRequest {
  /** The session's own public key (made by the API for this session only). */
  publicKey: KeyObject;
  /** The CA's private key. */
  caKey: KeyObject;
  /** Printable ASCII: the device's auth log shows it ("xspectre session <id> by <operator>"). */
  keyId: string;
  principals: readonly string[];
  validAfter: Date;
  validBefore: Date;
  /** CIDR list sshd checks the client address against (critical option source-address). */
  sourceAddress: string;
  serial?: bigint;
}

/** Issues the certificate; returns the `ssh-ed25519-cert-v01@openssh.com AAAA…` line and its blob. */
export function issueUserCertificate(request: UserCertificateRequest): { line: string; blob: Buffer } {
  if (!/^[\x20-\x7e]{1,256}$/.test(request.keyId)) throw new Error('the key id must be 1-256 printable ASCII characters');
  // Account names, or device principals like xspectre-device-<uuid> (AuthorizedPrincipalsFile lines).
  if (request.principals.length === 0 || request.principals.some((p) => !/^[a-z_][a-z0-9_-]{0,63}$/.test(p))) {
    throw new Error('principals must be account names or device principals (lowercase letters, digits, _ and -)');
  }
  if (!/^[0-9a-fA-F.:/,]{1,512}$/.test(request.sourceAddress)) throw new Error('source-address must be a list of addresses or CIDRs');
  if (request.validBefore <= request.validAfter) throw new Error('validBefore must be after validAfter');
  const seconds = (d: Date) => BigInt(Math.floor(d.getTime() / 1000));
  // Critical options and extensions: name, then the data as a string (itself a string for values); sorted by name.
  const criticalOptions = Buffer.concat([sshString('source-address'), sshString(sshString(request.sourceAddress))]);
  const extensions = Buffer.concat([sshString('permit-pty'), sshString('')]);
  const body = Buffer.concat([
    sshString(CERT_TYPE),
    sshString(randomBytes(32)),
    sshString(ed25519Raw(request.publicKey)),
    uint64(request.serial ?? 0n),
    uint32(USER_CERT),
    sshString(request.keyId),
    sshString(Buffer.concat(request.principals.map((p) => sshString(p)))),
    uint64(seconds(request.validAfter)),
    uint64(seconds(request.validBefore)),
    sshString(criticalOptions),
    sshString(extensions),
    sshString(''),
    sshString(ed25519Blob(request.caKey)),
  ]);
  const signature = sign(null, body, request.caKey);
  const blob = Buffer.concat([body, sshString(Buffer.concat([sshString(KEY_TYPE), sshString(signature)]))]);
  return { line: `${CERT_TYPE} ${blob.toString('base64')}`, blob };
}
