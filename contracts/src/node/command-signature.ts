/**
 * Signing and verification of command envelopes (../command-envelope.ts) with node:crypto.
 * Published as `@xspectre/contracts/command-signature`, apart from the main entry, so the
 * browser console never loads node:crypto. The API signs; the device agent verifies against
 * the keys it pinned at enrollment.
 */
import { createHash, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import {
  CommandEnvelopeSchema,
  SignedCommandSchema,
  canonicalCommandBytes,
  commandEnvelopeFields,
  type CommandEnvelope,
  type SignedCommand,
} from '../command-envelope.js';

/** Tolerated difference between the verifier's clock and the signer's, both ways, unless the caller says otherwise. */
export const DEFAULT_MAX_CLOCK_SKEW_MS = 30_000;

const PEM_PUBLIC_KEY = /^-----BEGIN PUBLIC KEY-----\r?\n[A-Za-z0-9+/=\r\n]+-----END PUBLIC KEY-----$/;
/** An Ed25519 SPKI PEM is 113 characters; anything much longer is not one. */
const MAX_PEM_LENGTH = 1024;

export interface PinnedCommandKey {
  keyId: string;
  publicKeyPem: string;
}

export type CommandRejection = 'malformed' | 'unknown_key' | 'bad_signature' | 'other_device' | 'expired' | 'not_yet_valid';

export type CommandVerification = { ok: true; envelope: CommandEnvelope } | { ok: false; reason: CommandRejection };

export interface CommandExpectation {
  /** The verifying device's own id. */
  deviceId: string;
  /** The verifier's best idea of the current time (the agent corrects its clock with the server time of its acks). */
  now: Date;
  /** Default DEFAULT_MAX_CLOCK_SKEW_MS. */
  maxClockSkewMs?: number;
}

function requireEd25519(key: KeyObject, type: 'public' | 'private', what: string): void {
  if (key.type !== type || key.asymmetricKeyType !== 'ed25519') {
    throw new TypeError(`${what} must be an Ed25519 ${type} key, got a ${key.asymmetricKeyType ?? 'symmetric'} ${key.type} key`);
  }
}

/** Key id: the first 16 hex digits of SHA-256 of the public key's SPKI DER. A private key stands for its public half. */
export function commandKeyId(publicKey: KeyObject): string {
  const key = publicKey.type === 'private' ? createPublicKey(publicKey) : publicKey;
  requireEd25519(key, 'public', 'the command-signing key');
  const der = key.export({ format: 'der', type: 'spki' });
  return createHash('sha256').update(der).digest('hex').slice(0, 16);
}

/**
 * A pinned command-signing key from its PEM: throws a clear error unless the text is exactly
 * one `PUBLIC KEY` PEM block holding an Ed25519 SPKI key (createPublicKey alone would also
 * accept a private key or a certificate and quietly take its public half).
 */
export function parsePinnedPublicKey(pem: string): KeyObject {
  if (typeof pem !== 'string') throw new TypeError('the pinned command-signing key must be a PEM string');
  const text = pem.trim();
  if (text.length > MAX_PEM_LENGTH || !PEM_PUBLIC_KEY.test(text)) {
    throw new Error(
      'the pinned command-signing key is not a PEM "PUBLIC KEY" block (expected -----BEGIN PUBLIC KEY----- … -----END PUBLIC KEY-----)',
    );
  }
  let key: KeyObject;
  try {
    key = createPublicKey({ key: text, format: 'pem' });
  } catch (err) {
    throw new Error(`the pinned command-signing key cannot be read: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new Error(`the pinned command-signing key must be an Ed25519 key, not ${key.asymmetricKeyType ?? 'unknown'}`);
  }
  return key;
}

/**
 * Signs an envelope. Throws (ZodError) when the envelope does not satisfy CommandEnvelopeSchema,
 * and when its keyId is not the id of `privateKey`: such a command could never verify.
 */
export function signCommand(privateKey: KeyObject, envelope: CommandEnvelope): SignedCommand {
  requireEd25519(privateKey, 'private', 'the command-signing key');
  const parsed = commandEnvelopeFields(CommandEnvelopeSchema.parse(envelope));
  const keyId = commandKeyId(privateKey);
  if (parsed.keyId !== keyId) throw new Error(`the envelope names key ${parsed.keyId} but is signed with key ${keyId}`);
  const signature = sign(null, canonicalCommandBytes(parsed), privateKey).toString('base64');
  return { ...parsed, signature };
}

/**
 * Verifies a signed command as it arrived (any JSON value). Checks in this order, and answers
 * the first failure: shape (SignedCommandSchema), key id among the pinned keys, Ed25519
 * signature over the canonical bytes, device id, validity window (issuedAt − skew ≤ now <
 * expiresAt + skew). A pinned entry whose PEM is not an Ed25519 public key, or whose keyId
 * is not that key's id, is a configuration error and throws.
 */
export function verifyCommand(signed: unknown, pinnedKeys: readonly PinnedCommandKey[], expect: CommandExpectation): CommandVerification {
  const parsed = SignedCommandSchema.safeParse(signed);
  if (!parsed.success) return { ok: false, reason: 'malformed' };
  const { signature, ...fields } = parsed.data;
  const envelope = commandEnvelopeFields(fields);

  const pinned = pinnedKeys.find((key) => key.keyId === envelope.keyId);
  if (!pinned) return { ok: false, reason: 'unknown_key' };
  const publicKey = parsePinnedPublicKey(pinned.publicKeyPem);
  if (commandKeyId(publicKey) !== pinned.keyId) throw new Error(`pinned key ${pinned.keyId}: its PEM holds a key with another id`);

  if (!verify(null, canonicalCommandBytes(envelope), publicKey, Buffer.from(signature, 'base64'))) {
    return { ok: false, reason: 'bad_signature' };
  }

  if (envelope.deviceId !== expect.deviceId.toLowerCase()) return { ok: false, reason: 'other_device' };

  const skew = expect.maxClockSkewMs ?? DEFAULT_MAX_CLOCK_SKEW_MS;
  const now = expect.now.getTime();
  if (!Number.isFinite(now)) throw new TypeError('expect.now is not a valid date');
  if (now < Date.parse(envelope.issuedAt) - skew) return { ok: false, reason: 'not_yet_valid' };
  if (now >= Date.parse(envelope.expiresAt) + skew) return { ok: false, reason: 'expired' };
  return { ok: true, envelope };
}
