// The agent's side of the signed command contract: it verifies through the same package
// subpath its build bundles (@xspectre/contracts/command-signature) against the same vectors
// the contract's and the API's tests load, so signer and verifier cannot drift apart.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { canonicalCommandBytes, type CommandEnvelope } from '@xspectre/contracts';
import {
  commandKeyId,
  parsePinnedPublicKey,
  verifyCommand,
  type CommandExpectation,
  type PinnedCommandKey,
} from '@xspectre/contracts/command-signature';

interface Expect {
  deviceId: string;
  now: string;
  maxClockSkewMs?: number;
}
const vectorsPath = createRequire(import.meta.url).resolve('@xspectre/contracts/test-vectors/command-envelope.json');
const vectors = JSON.parse(readFileSync(vectorsPath, 'utf8')) as {
  pinnedKeys: PinnedCommandKey[];
  valid: Array<{
    name: string;
    envelope: CommandEnvelope;
    canonicalHex: string;
    signature: string;
    keyId: string;
    publicKeyPem: string;
    expect: Expect;
  }>;
  invalid: Array<{ name: string; signed: unknown; expect: Expect; reason: string }>;
};
const expectation = (expect: Expect): CommandExpectation => ({ ...expect, now: new Date(expect.now) });

describe('command verification on the agent (contracts test vectors)', () => {
  it('pins the vector keys: Ed25519 SPKI PEM whose key id matches', () => {
    for (const key of vectors.pinnedKeys) expect(commandKeyId(parsePinnedPublicKey(key.publicKeyPem))).toBe(key.keyId);
  });

  it('computes the same canonical bytes and accepts every valid command as it arrives over JSON', () => {
    expect(vectors.valid.length).toBeGreaterThanOrEqual(3);
    for (const vector of vectors.valid) {
      expect(Buffer.from(canonicalCommandBytes(vector.envelope)).toString('hex'), vector.name).toBe(vector.canonicalHex);
      const received: unknown = JSON.parse(JSON.stringify({ ...vector.envelope, signature: vector.signature }));
      const result = verifyCommand(received, vectors.pinnedKeys, expectation(vector.expect));
      expect(result.ok, vector.name).toBe(true);
      if (result.ok) expect(result.envelope.commandId).toBe(vector.envelope.commandId);
    }
  });

  it('refuses every invalid command with the reason the vectors name', () => {
    expect(vectors.invalid.length).toBeGreaterThanOrEqual(10);
    for (const vector of vectors.invalid) {
      expect(verifyCommand(vector.signed, vectors.pinnedKeys, expectation(vector.expect)), vector.name).toEqual({
        ok: false,
        reason: vector.reason,
      });
    }
  });

  it('refuses the delivered JSON of a signed command with any one byte flipped', () => {
    const vector = vectors.valid[1]!;
    const delivered = Buffer.from(JSON.stringify({ ...vector.envelope, signature: vector.signature }));
    let reachedSignatureCheck = 0;
    for (let i = 0; i < delivered.length; i++) {
      const flipped = Buffer.from(delivered);
      flipped[i]! ^= 0x01;
      let received: unknown;
      try {
        received = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(flipped));
      } catch {
        continue; // not JSON: the agent cannot even read it
      }
      const result = verifyCommand(received, vectors.pinnedKeys, expectation(vector.expect));
      expect(result.ok, `byte ${i} flipped`).toBe(false);
      if (!result.ok && result.reason === 'bad_signature') reachedSignatureCheck += 1;
    }
    expect(reachedSignatureCheck).toBeGreaterThan(100);
  });
});
