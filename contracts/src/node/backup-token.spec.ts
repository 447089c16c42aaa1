import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { BackupTokenClaims } from '../backup-server.js';
import { MAX_BACKUP_TOKEN_LENGTH, backupTokenKeyId, signBackupToken, verifyBackupToken, type BackupTokenKey } from './backup-token.js';

const keyPair = () => generateKeyPairSync('ed25519');
const { privateKey, publicKey } = keyPair();
const kid = backupTokenKeyId(publicKey);
const keys: BackupTokenKey[] = [{ keyId: kid, publicKey }];

const T0 = 1_800_000_000;
const at = (seconds: number) => new Date(seconds * 1000);
const DEVICE = '6f1c1c52-4d7e-4a51-9a43-2f1f1bb1f001';

function claims(overrides: Partial<BackupTokenClaims> = {}): BackupTokenClaims {
  return {
    iss: 'xspectre-api',
    aud: 'xspectre-backup',
    sub: DEVICE,
    op: 'append',
    iat: T0,
    exp: T0 + 600,
    jti: 'tok_0123456789',
    ...overrides,
  };
}

const b64 = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

/** A token built by hand, signed correctly, so checks after the signature can be reached with any content. */
function handMade(header: unknown, payload: unknown, key: KeyObject = privateKey): string {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${sign(null, Buffer.from(input), key).toString('base64url')}`;
}
const HEADER = { alg: 'EdDSA', typ: 'JWT', kid };

describe('backup tokens', () => {
  it('round-trips: a signed token verifies and yields its claims', () => {
    const token = signBackupToken(privateKey, kid, claims({ op: 'read', nbf: T0 }));
    expect(token.split('.')).toHaveLength(3);
    const header = JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString());
    expect(header).toEqual({ alg: 'EdDSA', typ: 'JWT', kid });
    expect(verifyBackupToken(token, keys, at(T0 + 1))).toEqual({ ok: true, claims: claims({ op: 'read', nbf: T0 }) });
  });

  it('carries the disk-image operations, and no other new one', () => {
    for (const op of ['image-append', 'image-read'] as const) {
      const verdict = verifyBackupToken(signBackupToken(privateKey, kid, claims({ op })), keys, at(T0 + 1));
      expect(verdict).toEqual({ ok: true, claims: claims({ op }) });
    }
    expect(() => signBackupToken(privateKey, kid, claims({ op: 'image-delete' as never }))).toThrow();
    expect(verifyBackupToken(handMade(HEADER, claims({ op: 'image-delete' as never })), keys, at(T0 + 1))).toEqual({
      ok: false,
      reason: 'malformed',
    });
  });

  it('refuses to sign what could never verify or breaks the contract', () => {
    expect(() => signBackupToken(privateKey, '0000000000000000', claims())).toThrow(/signed with key/);
    expect(() => signBackupToken(privateKey, kid, claims({ exp: T0 + 901 }))).toThrow(/at most 900 s/);
    expect(() => signBackupToken(privateKey, kid, claims({ aud: 'someone-else' }))).toThrow(/aud must be/);
    expect(() => signBackupToken(privateKey, kid, claims({ iss: 'me' }))).toThrow(/iss must be/);
    expect(() => signBackupToken(privateKey, kid, claims({ sub: 'not-a-uuid' }))).toThrow();
    expect(() => signBackupToken(publicKey, kid, claims())).toThrow(/Ed25519 private key/);
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey;
    expect(() => signBackupToken(rsa, kid, claims())).toThrow(/Ed25519/);
  });

  it('answers expired / not yet valid with 30 s of skew either way', () => {
    const token = signBackupToken(privateKey, kid, claims({ nbf: T0 + 100 }));
    expect(verifyBackupToken(token, keys, at(T0 + 629))).toMatchObject({ ok: true });
    expect(verifyBackupToken(token, keys, at(T0 + 630))).toEqual({ ok: false, reason: 'expired' });
    expect(verifyBackupToken(token, keys, at(T0 + 70))).toMatchObject({ ok: true });
    expect(verifyBackupToken(token, keys, at(T0 + 69))).toEqual({ ok: false, reason: 'not_yet_valid' });
    const noNbf = signBackupToken(privateKey, kid, claims());
    expect(verifyBackupToken(noNbf, keys, at(T0 - 31))).toEqual({ ok: false, reason: 'not_yet_valid' });
  });

  it('answers unknown key, bad signature, wrong issuer/audience and too long a lifetime', () => {
    const other = keyPair();
    const otherToken = signBackupToken(other.privateKey, backupTokenKeyId(other.publicKey), claims());
    expect(verifyBackupToken(otherToken, keys, at(T0))).toEqual({ ok: false, reason: 'unknown_key' });
    // The other key's signature under our kid.
    expect(verifyBackupToken(handMade(HEADER, claims(), other.privateKey), keys, at(T0))).toEqual({ ok: false, reason: 'bad_signature' });
    // A claim changed after signing.
    const [h, , s] = signBackupToken(privateKey, kid, claims()).split('.');
    expect(verifyBackupToken(`${h}.${b64(claims({ op: 'prune' }))}.${s}`, keys, at(T0))).toEqual({ ok: false, reason: 'bad_signature' });
    expect(verifyBackupToken(handMade(HEADER, claims({ iss: 'evil' })), keys, at(T0))).toEqual({ ok: false, reason: 'wrong_issuer' });
    expect(verifyBackupToken(handMade(HEADER, claims({ aud: 'xspectre-api' })), keys, at(T0))).toEqual({
      ok: false,
      reason: 'wrong_audience',
    });
    expect(verifyBackupToken(handMade(HEADER, claims({ exp: T0 + 3600 })), keys, at(T0))).toEqual({
      ok: false,
      reason: 'lifetime_too_long',
    });
  });

  it('refuses malformed tokens before trusting any of it', () => {
    const good = signBackupToken(privateKey, kid, claims());
    const [h, p, s] = good.split('.') as [string, string, string];
    const cases: unknown[] = [
      undefined,
      42,
      '',
      'a.b',
      `${good}.x`,
      `${h}=.${p}.${s}`, // padding
      `${h}.${p}.${s.slice(0, -1)}+`, // base64, not base64url
      `${h}.${p}.${s.slice(0, -1)}`, // short signature
      `${h}.${p}.${s.slice(0, -1)}${s.endsWith('A') ? 'B' : 'A'}`, // non-canonical trailing bits (or wrong signature)
      handMade({ alg: 'none', typ: 'JWT', kid }, claims()),
      handMade({ alg: 'EdDSA', typ: 'JWT', kid, crit: ['exp'] }, claims()),
      handMade({ alg: 'EdDSA', typ: 'JWT' }, claims()),
      handMade(HEADER, { ...claims(), extra: true }),
      handMade(HEADER, claims({ op: 'admin' as never })),
      handMade(HEADER, claims({ sub: 'other' })),
      handMade(HEADER, claims({ exp: T0 - 1 })),
      handMade(HEADER, claims({ iat: 1.5 })),
      handMade(HEADER, 'not json'),
    ];
    for (const token of cases) {
      const result = verifyBackupToken(token, keys, at(T0));
      expect(result.ok, String(token)).toBe(false);
      expect(['malformed', 'bad_signature'], String(token)).toContain((result as { reason: string }).reason);
    }
    expect(verifyBackupToken('a'.repeat(MAX_BACKUP_TOKEN_LENGTH + 1), keys, at(T0))).toEqual({ ok: false, reason: 'too_large' });
  });

  it('derives the key id from the public key, the same from either half', () => {
    expect(kid).toMatch(/^[0-9a-f]{16}$/);
    expect(backupTokenKeyId(privateKey)).toBe(kid);
    expect(backupTokenKeyId(keyPair().publicKey)).not.toBe(kid);
  });
});
