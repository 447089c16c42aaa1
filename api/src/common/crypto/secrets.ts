import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';

/** Keys derived from API_SECRET_KEY, one per purpose, so no key does two jobs. */
export interface DerivedKeys {
  jwt: Uint8Array;
  fieldSeal: Buffer;
  claimCodeHmac: Buffer;
  /** Names the failure state of unknown login emails in Redis without storing the emails. */
  loginEmailHmac: Buffer;
  /** Signs the audit chain's checkpoints kept outside the database (api/src/audit/audit-anchors.ts). */
  auditAnchorHmac: Buffer;
  /** Seed of the Ed25519 command key used before the key store: imported once into an empty store (api/src/keys/key-store.ts), never used otherwise. */
  commandSigningSeed: Buffer;
  /** Seals the API tokens and HMAC secrets of alert delivery targets (api/src/alert-delivery). */
  alertTargetSeal: Buffer;
  /** Seals identity providers' client secrets (api/src/sso). */
  ssoSecretSeal: Buffer;
}

export function deriveKeys(secret: string): DerivedKeys {
  const ikm = Buffer.from(secret, 'utf8');
  const derive = (info: string) => Buffer.from(hkdfSync('sha256', ikm, 'xspectre-ops', info, 32));
  return {
    jwt: new Uint8Array(derive('jwt-hs256')),
    fieldSeal: derive('field-seal-aes256gcm'),
    claimCodeHmac: derive('claim-code-hmac'),
    loginEmailHmac: derive('login-email-hmac'),
    auditAnchorHmac: derive('audit-anchor-hmac'),
    commandSigningSeed: derive('command-signing-ed25519'),
    alertTargetSeal: derive('alert-target-seal-aes256gcm'),
    ssoSecretSeal: derive('sso-secret-seal-aes256gcm'),
  };
}

/** AES-256-GCM for secrets kept in the database (TOTP seeds): `v1.iv.tag.ciphertext`, base64url. */
export function seal(key: Buffer, plaintext: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const data = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return ['v1', iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), data.toString('base64url')].join('.');
}

export function unseal(key: Buffer, sealed: string): string {
  const [version, iv, tag, data] = sealed.split('.');
  if (version !== 'v1' || !iv || !tag || data === undefined) throw new Error('sealed value has an unknown format');
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
  decipher.setAuthTag(Buffer.from(tag, 'base64url'));
  return Buffer.concat([decipher.update(Buffer.from(data, 'base64url')), decipher.final()]).toString('utf8');
}

export function sha256Hex(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}

export function randomToken(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

export function safeEqual(a: string, b: string): boolean {
  const ab = Buffer.from(a);
  const bb = Buffer.from(b);
  return ab.length === bb.length && timingSafeEqual(ab, bb);
}
