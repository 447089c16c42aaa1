import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, verify, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { CommandEnvelope } from '../command-envelope.js';
import {
  DEFAULT_MAX_CLOCK_SKEW_MS,
  commandKeyId,
  parsePinnedPublicKey,
  signCommand,
  verifyCommand,
  type CommandExpectation,
  type PinnedCommandKey,
} from './command-signature.js';

interface TestKey {
  seedHex: string;
  keyId: string;
  publicKeyPem: string;
}
interface Expect {
  deviceId: string;
  now: string;
  maxClockSkewMs?: number;
}
interface ValidVector {
  name: string;
  envelope: CommandEnvelope;
  canonicalHex: string;
  signature: string;
  keyId: string;
  publicKeyPem: string;
  expect: Expect;
}
const vectors = JSON.parse(readFileSync(new URL('../../test-vectors/command-envelope.json', import.meta.url), 'utf8')) as {
  testKey: TestKey;
  otherTestKey: TestKey;
  pinnedKeys: PinnedCommandKey[];
  defaultMaxClockSkewMs: number;
  valid: ValidVector[];
  invalid: Array<{ name: string; signed: unknown; expect: Expect; reason: string }>;
};
const pinned = vectors.pinnedKeys;
const restart = vectors.valid[1] as ValidVector;
const signedRestart = () => ({ ...structuredClone(restart.envelope), signature: restart.signature });
const expectation = (expect: Expect): CommandExpectation => ({ ...expect, now: new Date(expect.now) });
const at = (iso: string, offsetMs: number) => new Date(Date.parse(iso) + offsetMs);
const onDevice = (now: Date, maxClockSkewMs?: number): CommandExpectation => ({ deviceId: restart.envelope.deviceId, now, maxClockSkewMs });

const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const privateKeyFromSeed = (seedHex: string): KeyObject =>
  createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, Buffer.from(seedHex, 'hex')]), format: 'der', type: 'pkcs8' });
const testPrivateKey = privateKeyFromSeed(vectors.testKey.seedHex);

describe('commandKeyId', () => {
  it('is the first 16 hex digits of SHA-256 over the SPKI DER of the public key', () => {
    const spki = createPublicKey(vectors.testKey.publicKeyPem).export({ format: 'der', type: 'spki' });
    expect(spki.length).toBe(44);
    expect(vectors.testKey.keyId).toBe(createHash('sha256').update(spki).digest('hex').slice(0, 16));
    expect(commandKeyId(createPublicKey(vectors.testKey.publicKeyPem))).toBe(vectors.testKey.keyId);
    expect(commandKeyId(testPrivateKey)).toBe(vectors.testKey.keyId);
    expect(commandKeyId(privateKeyFromSeed(vectors.otherTestKey.seedHex))).toBe(vectors.otherTestKey.keyId);
  });

  it('refuses keys other than Ed25519', () => {
    expect(() => commandKeyId(generateKeyPairSync('x25519').publicKey)).toThrow(/Ed25519/);
    expect(() => commandKeyId(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey)).toThrow(/Ed25519/);
  });
});

describe('parsePinnedPublicKey', () => {
  it('reads an Ed25519 SPKI PEM, with CRLF line ends or surrounding whitespace too', () => {
    const pem = vectors.testKey.publicKeyPem;
    for (const text of [pem, pem.trim(), `\n  ${pem}\n`, pem.replaceAll('\n', '\r\n')]) {
      expect(commandKeyId(parsePinnedPublicKey(text))).toBe(vectors.testKey.keyId);
    }
  });

  it('refuses private keys, other key types, other PEM blocks and junk with a clear error', () => {
    const { privateKey } = generateKeyPairSync('ed25519');
    const pem = vectors.testKey.publicKeyPem;
    const refused: Array<[string, RegExp]> = [
      [privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(), /not a PEM "PUBLIC KEY" block/],
      [generateKeyPairSync('x25519').publicKey.export({ format: 'pem', type: 'spki' }).toString(), /must be an Ed25519 key, not x25519/],
      [
        generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'pem', type: 'spki' }).toString(),
        /must be an Ed25519 key, not ec/,
      ],
      [pem.replace(/PUBLIC KEY/g, 'CERTIFICATE'), /not a PEM "PUBLIC KEY" block/],
      [pem + pem, /not a PEM "PUBLIC KEY" block/],
      [pem.replace('MCowBQYDK2VwAyEA', 'MCswBQYDK2VwAyEA'), /cannot be read/],
      [pem.replace(/\n[^-]+\n/, '\nAAAA\n'), /cannot be read/],
      ['', /not a PEM "PUBLIC KEY" block/],
      ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA', /not a PEM "PUBLIC KEY" block/],
    ];
    for (const [text, message] of refused) expect(() => parsePinnedPublicKey(text), text).toThrow(message);
    expect(() => parsePinnedPublicKey(undefined as unknown as string)).toThrow(TypeError);
  });
});

describe('signCommand', () => {
  it('reproduces every vector signature (Ed25519 is deterministic)', () => {
    for (const vector of vectors.valid) {
      const signed = signCommand(testPrivateKey, vector.envelope);
      expect(signed.signature, vector.name).toBe(vector.signature);
      expect(vector.keyId).toBe(vectors.testKey.keyId);
      expect(vector.publicKeyPem).toBe(vectors.testKey.publicKeyPem);
      // And the signature is an ordinary Ed25519 signature over canonicalHex.
      expect(
        verify(
          null,
          Buffer.from(vector.canonicalHex, 'hex'),
          createPublicKey(vector.publicKeyPem),
          Buffer.from(vector.signature, 'base64'),
        ),
      ).toBe(true);
    }
  });

  it('answers exactly the envelope fields and the signature', () => {
    const signed = signCommand(testPrivateKey, restart.envelope);
    expect(Object.keys(signed).sort()).toEqual([...Object.keys(restart.envelope), 'signature'].sort());
    expect(JSON.parse(JSON.stringify(signed))).toEqual(signedRestart());
  });

  it('refuses an envelope naming another key, an invalid envelope, and keys that cannot sign', () => {
    expect(() => signCommand(testPrivateKey, { ...restart.envelope, keyId: vectors.otherTestKey.keyId })).toThrow(
      /names key .* but is signed with key/,
    );
    expect(() => signCommand(testPrivateKey, { ...restart.envelope, expiresAt: restart.envelope.issuedAt })).toThrow();
    expect(() => signCommand(testPrivateKey, signedRestart())).toThrow();
    expect(() => signCommand(createPublicKey(testPrivateKey), restart.envelope)).toThrow(/Ed25519 private key/);
    expect(() => signCommand(generateKeyPairSync('x25519').privateKey, restart.envelope)).toThrow(/Ed25519 private key/);
  });
});

describe('verifyCommand', () => {
  it('accepts every valid vector, also after a trip through JSON, and answers the envelope without the signature', () => {
    for (const vector of vectors.valid) {
      const asSent = { ...vector.envelope, signature: vector.signature };
      expect(verifyCommand(asSent, pinned, expectation(vector.expect)), vector.name).toEqual({ ok: true, envelope: vector.envelope });
      // JSON turns the -0 of one vector into 0: same canonical bytes, same verdict.
      const travelled = JSON.parse(JSON.stringify(asSent));
      const envelope = { ...travelled };
      delete envelope.signature;
      expect(verifyCommand(travelled, pinned, expectation(vector.expect)), vector.name).toEqual({ ok: true, envelope });
    }
  });

  it('gives each invalid vector its expected reason', () => {
    const reasons = new Set<string>();
    for (const vector of vectors.invalid) {
      expect(verifyCommand(vector.signed, pinned, expectation(vector.expect)), vector.name).toEqual({ ok: false, reason: vector.reason });
      reasons.add(vector.reason);
    }
    expect([...reasons].sort()).toEqual(['bad_signature', 'expired', 'malformed', 'not_yet_valid', 'other_device', 'unknown_key']);
  });

  it('checks in order: shape, key id, signature, device, time', () => {
    const { issuedAt, expiresAt } = restart.envelope;
    const late = at(expiresAt, DEFAULT_MAX_CLOCK_SKEW_MS);
    const other = { deviceId: '00000000-0000-4000-8000-00000000000f', now: late };
    const unknownKey = { ...signedRestart(), keyId: vectors.otherTestKey.keyId };
    expect(verifyCommand({ ...unknownKey, nonce: 'x' }, pinned, other)).toEqual({ ok: false, reason: 'malformed' });
    expect(verifyCommand({ ...unknownKey, action: 'service.stop' }, pinned, other)).toEqual({ ok: false, reason: 'unknown_key' });
    expect(verifyCommand({ ...signedRestart(), action: 'service.stop' }, pinned, other)).toEqual({ ok: false, reason: 'bad_signature' });
    expect(verifyCommand(signedRestart(), pinned, other)).toEqual({ ok: false, reason: 'other_device' });
    expect(verifyCommand(signedRestart(), pinned, onDevice(late))).toEqual({ ok: false, reason: 'expired' });
    expect(verifyCommand(signedRestart(), pinned, onDevice(new Date(issuedAt))).ok).toBe(true);
  });

  it('allows the clock skew on both ends of the window, and no more', () => {
    const { issuedAt, expiresAt } = restart.envelope;
    expect(vectors.defaultMaxClockSkewMs).toBe(DEFAULT_MAX_CLOCK_SKEW_MS);
    const verdict = (now: Date, skew?: number) => {
      const result = verifyCommand(signedRestart(), pinned, onDevice(now, skew));
      return result.ok ? 'ok' : result.reason;
    };
    expect(verdict(at(issuedAt, -DEFAULT_MAX_CLOCK_SKEW_MS))).toBe('ok');
    expect(verdict(at(issuedAt, -DEFAULT_MAX_CLOCK_SKEW_MS - 1))).toBe('not_yet_valid');
    expect(verdict(at(expiresAt, DEFAULT_MAX_CLOCK_SKEW_MS - 1))).toBe('ok');
    expect(verdict(at(expiresAt, DEFAULT_MAX_CLOCK_SKEW_MS))).toBe('expired');
    expect(verdict(at(issuedAt, -1), 0)).toBe('not_yet_valid');
    expect(verdict(at(expiresAt, -1), 0)).toBe('ok');
    expect(verdict(at(expiresAt, 0), 0)).toBe('expired');
    expect(verdict(at(expiresAt, 119_999), 120_000)).toBe('ok');
    expect(() => verdict(new Date(NaN))).toThrow(/not a valid date/);
  });

  it("compares the device id without regard to the verifier's letter case", () => {
    const expect_ = onDevice(new Date(restart.envelope.issuedAt));
    expect(verifyCommand(signedRestart(), pinned, { ...expect_, deviceId: expect_.deviceId.toUpperCase() }).ok).toBe(true);
  });

  it('verifies with whichever pinned key the key id names (rotation: old and new both pinned)', () => {
    const other = privateKeyFromSeed(vectors.otherTestKey.seedHex);
    const byOther = signCommand(other, { ...restart.envelope, keyId: vectors.otherTestKey.keyId });
    const both = [...pinned, { keyId: vectors.otherTestKey.keyId, publicKeyPem: vectors.otherTestKey.publicKeyPem }];
    const now = onDevice(new Date(restart.envelope.issuedAt));
    expect(verifyCommand(byOther, both, now).ok).toBe(true);
    expect(verifyCommand(signedRestart(), both, now).ok).toBe(true);
    expect(verifyCommand(byOther, pinned, now)).toEqual({ ok: false, reason: 'unknown_key' });
    expect(verifyCommand(signedRestart(), [], now)).toEqual({ ok: false, reason: 'unknown_key' });
  });

  it('throws on pinned key material that is broken or carries another key id: a configuration error, not a verdict', () => {
    const now = onDevice(new Date(restart.envelope.issuedAt));
    const mislabelled = [{ keyId: vectors.testKey.keyId, publicKeyPem: vectors.otherTestKey.publicKeyPem }];
    expect(() => verifyCommand(signedRestart(), mislabelled, now)).toThrow(/another id/);
    expect(() => verifyCommand(signedRestart(), [{ keyId: vectors.testKey.keyId, publicKeyPem: 'junk' }], now)).toThrow(/PUBLIC KEY/);
  });

  it('fails for every byte of the canonical form flipped in turn, and for every signature byte flipped', () => {
    const bytes = Buffer.from(restart.canonicalHex, 'hex');
    const signature = Buffer.from(restart.signature, 'base64');
    const publicKey = createPublicKey(restart.publicKeyPem);
    const prefixLength = bytes.indexOf(0x0a) + 1;
    const now = onDevice(new Date(restart.envelope.issuedAt));
    const outcomes: Record<string, number> = {};
    for (let i = 0; i < bytes.length; i++) {
      const flipped = Buffer.from(bytes);
      flipped[i]! ^= 0x01;
      // The signature does not cover the flipped bytes…
      expect(verify(null, flipped, publicKey, signature), `byte ${i}`).toBe(false);
      if (i < prefixLength) continue;
      // …and an envelope carrying them, as a compromised database would deliver it, is refused.
      let outcome: string;
      try {
        const edited: unknown = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(flipped.subarray(prefixLength)));
        const result = verifyCommand({ ...(edited as object), signature: restart.signature }, pinned, now);
        outcome = result.ok ? 'ACCEPTED' : result.reason;
      } catch {
        outcome = 'not JSON';
      }
      expect(outcome, `byte ${i} flipped`).not.toBe('ACCEPTED');
      outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
    }
    // Not vacuous: most flips give JSON that reaches the signature check.
    expect(outcomes.bad_signature).toBeGreaterThan(100);
    for (let i = 0; i < signature.length; i++) {
      const flipped = Buffer.from(signature);
      flipped[i]! ^= 0x01;
      expect(verifyCommand({ ...signedRestart(), signature: flipped.toString('base64') }, pinned, now), `signature byte ${i}`).toEqual({
        ok: false,
        reason: 'bad_signature',
      });
    }
  });
});
