/**
 * Backup tokens: compact JWS (RFC 7515) with EdDSA (Ed25519), signed by the API with a key of
 * the `backup-tokens` purpose and verified by the backup server, which holds only the public
 * keys. Published as `@xspectre/contracts/backup-token` (node:crypto, like ./command-signature.ts).
 *
 * Deliberately narrow: one header shape, one algorithm, strict base64url, a size bound, a
 * lifetime of at most BACKUP_TOKEN_MAX_LIFETIME_SECONDS. No JOSE library: the whole format is
 * three base64url parts and one Ed25519 signature, and a general library would accept more.
 */
import { createHash, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { z } from 'zod';
import {
  BACKUP_TOKEN_AUDIENCE,
  BACKUP_TOKEN_ISSUER,
  BACKUP_TOKEN_MAX_LIFETIME_SECONDS,
  BackupTokenClaimsSchema,
  type BackupTokenClaims,
} from '../backup-server.js';

/** Tolerated difference between the backup server's clock and the API's, both ways. */
export const BACKUP_TOKEN_CLOCK_SKEW_SECONDS = 30;
/** A token is ~400 characters; anything far longer is refused before any parsing. */
export const MAX_BACKUP_TOKEN_LENGTH = 2048;

const KEY_ID = /^[0-9a-f]{16}$/;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

const HeaderSchema = z.object({ alg: z.literal('EdDSA'), typ: z.literal('JWT'), kid: z.string().regex(KEY_ID) }).strict();

export interface BackupTokenKey {
  /** 16 hex digits: backupTokenKeyId(publicKey). */
  keyId: string;
  publicKey: KeyObject;
}

export type BackupTokenRejection =
  | 'malformed'
  | 'too_large'
  | 'unknown_key'
  | 'bad_signature'
  | 'wrong_issuer'
  | 'wrong_audience'
  | 'lifetime_too_long'
  | 'not_yet_valid'
  | 'expired';

export type BackupTokenVerification = { ok: true; claims: BackupTokenClaims } | { ok: false; reason: BackupTokenRejection };

function requireEd25519(key: KeyObject, type: 'public' | 'private'): void {
  if (key.type !== type || key.asymmetricKeyType !== 'ed25519') {
    throw new TypeError(
      `the backup-token key must be an Ed25519 ${type} key, got a ${key.asymmetricKeyType ?? 'symmetric'} ${key.type} key`,
    );
  }
}

/** Key id: the first 16 hex digits of SHA-256 of the SPKI DER (as command keys, ./command-signature.ts). */
export function backupTokenKeyId(key: KeyObject): string {
  const publicKey = key.type === 'private' ? createPublicKey(key) : key;
  requireEd25519(publicKey, 'public');
  return createHash('sha256')
    .update(publicKey.export({ format: 'der', type: 'spki' }))
    .digest('hex')
    .slice(0, 16);
}

const encodeJson = (value: unknown): string => Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');

/** Decodes one base64url part, refusing padding, other alphabets and non-canonical trailing bits. */
function decodePart(part: string): Buffer | undefined {
  if (!BASE64URL.test(part) || part.length % 4 === 1) return undefined;
  const bytes = Buffer.from(part, 'base64url');
  return bytes.toString('base64url') === part ? bytes : undefined;
}

function parseJsonPart(part: string): unknown {
  const bytes = decodePart(part);
  if (!bytes) return undefined;
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    return undefined;
  }
}

/**
 * Signs claims into a compact JWS. Throws when the claims break the contract (schema, issuer,
 * audience, lifetime over BACKUP_TOKEN_MAX_LIFETIME_SECONDS) or when `kid` is not the id of
 * `privateKey`: such a token could never verify.
 */
export function signBackupToken(privateKey: KeyObject, kid: string, claims: BackupTokenClaims): string {
  requireEd25519(privateKey, 'private');
  const parsed = BackupTokenClaimsSchema.parse(claims);
  if (parsed.iss !== BACKUP_TOKEN_ISSUER) throw new Error(`iss must be ${BACKUP_TOKEN_ISSUER}`);
  if (parsed.aud !== BACKUP_TOKEN_AUDIENCE) throw new Error(`aud must be ${BACKUP_TOKEN_AUDIENCE}`);
  if (parsed.exp - parsed.iat > BACKUP_TOKEN_MAX_LIFETIME_SECONDS) {
    throw new Error(`a backup token lives at most ${BACKUP_TOKEN_MAX_LIFETIME_SECONDS} s`);
  }
  const ownId = backupTokenKeyId(privateKey);
  if (kid !== ownId) throw new Error(`the token names key ${kid} but is signed with key ${ownId}`);
  const signingInput = `${encodeJson({ alg: 'EdDSA', typ: 'JWT', kid })}.${encodeJson(parsed)}`;
  const signature = sign(null, Buffer.from(signingInput, 'ascii'), privateKey).toString('base64url');
  return `${signingInput}.${signature}`;
}

/**
 * Verifies a token as it arrived (any value). Checks in this order and answers the first
 * failure: size, three strict base64url parts, header (exactly alg EdDSA, typ JWT, kid), key id
 * among `publicKeys`, Ed25519 signature, claims schema, issuer, audience, lifetime (exp − iat ≤
 * 15 min), validity window (max(iat, nbf) − skew ≤ now < exp + skew).
 */
export function verifyBackupToken(token: unknown, publicKeys: readonly BackupTokenKey[], now: Date): BackupTokenVerification {
  if (typeof token !== 'string') return { ok: false, reason: 'malformed' };
  if (token.length > MAX_BACKUP_TOKEN_LENGTH) return { ok: false, reason: 'too_large' };
  const parts = token.split('.');
  if (parts.length !== 3) return { ok: false, reason: 'malformed' };
  const [headerPart, payloadPart, signaturePart] = parts as [string, string, string];

  const header = HeaderSchema.safeParse(parseJsonPart(headerPart));
  if (!header.success) return { ok: false, reason: 'malformed' };
  const signature = decodePart(signaturePart);
  if (!signature || signature.length !== 64 || !decodePart(payloadPart)) return { ok: false, reason: 'malformed' };

  const key = publicKeys.find((k) => k.keyId === header.data.kid);
  if (!key) return { ok: false, reason: 'unknown_key' };
  requireEd25519(key.publicKey, 'public');
  if (!verify(null, Buffer.from(`${headerPart}.${payloadPart}`, 'ascii'), key.publicKey, signature)) {
    return { ok: false, reason: 'bad_signature' };
  }

  const claims = BackupTokenClaimsSchema.safeParse(parseJsonPart(payloadPart));
  if (!claims.success) return { ok: false, reason: 'malformed' };
  const c = claims.data;
  if (c.iss !== BACKUP_TOKEN_ISSUER) return { ok: false, reason: 'wrong_issuer' };
  if (c.aud !== BACKUP_TOKEN_AUDIENCE) return { ok: false, reason: 'wrong_audience' };
  if (c.exp - c.iat > BACKUP_TOKEN_MAX_LIFETIME_SECONDS) return { ok: false, reason: 'lifetime_too_long' };

  const nowSeconds = now.getTime() / 1000;
  if (!Number.isFinite(nowSeconds)) throw new TypeError('now is not a valid date');
  if (nowSeconds < Math.max(c.iat, c.nbf ?? 0) - BACKUP_TOKEN_CLOCK_SKEW_SECONDS) return { ok: false, reason: 'not_yet_valid' };
  if (nowSeconds >= c.exp + BACKUP_TOKEN_CLOCK_SKEW_SECONDS) return { ok: false, reason: 'expired' };
  return { ok: true, claims: c };
}
