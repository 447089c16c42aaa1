// Writes contracts/test-vectors/command-envelope.json: test vectors of the signed command
// envelope (src/command-envelope.ts, src/node/command-signature.ts) that the contract's, the
// API's and the agent's tests load. Deterministic: fixed keys, ids, nonces and times, and
// Ed25519 signatures are deterministic (RFC 8032), so a rerun writes the same file; a diff
// after a rerun means the encoding changed, which breaks every pinned device.
//
//   npm run vectors -w contracts     (builds contracts first: this script uses dist/)
//
// The two keys below are TEST ONLY: their private halves are public in this repository. Never
// configure them anywhere.
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { COMMAND_SIGNATURE_PREFIX, COMMAND_TTL_MS, canonicalCommandBytes } from '../dist/index.js';
import { DEFAULT_MAX_CLOCK_SKEW_MS, commandKeyId, signCommand, verifyCommand } from '../dist/node/command-signature.js';

const contractsDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const output = join(contractsDir, 'test-vectors', 'command-envelope.json');

/** PKCS#8 DER prefix of an Ed25519 private key, followed by its 32-byte seed (RFC 8410). */
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
// TEST ONLY seeds (32 bytes each).
const TEST_SEED = '74657374206f6e6c793a20787370656374726520636f6d6d616e64206b657931'; // "test only: xspectre command key1"
const OTHER_TEST_SEED = '74657374206f6e6c793a20787370656374726520636f6d6d616e64206b657932'; // "… key2"

function testKey(seedHex) {
  const privateKey = createPrivateKey({
    key: Buffer.concat([ED25519_PKCS8_PREFIX, Buffer.from(seedHex, 'hex')]),
    format: 'der',
    type: 'pkcs8',
  });
  const publicKeyPem = createPublicKey(privateKey).export({ format: 'pem', type: 'spki' }).toString();
  return { privateKey, info: { seedHex, keyId: commandKeyId(privateKey), publicKeyPem } };
}

const key = testKey(TEST_SEED);
const otherKey = testKey(OTHER_TEST_SEED);
const pinnedKeys = [{ keyId: key.info.keyId, publicKeyPem: key.info.publicKeyPem }];

const DEVICE = '3f2b8c1e-7a4d-4e5f-9b6a-0c1d2e3f4a5b';
const OTHER_DEVICE = 'a0b1c2d3-e4f5-4a6b-8c7d-9e0f1a2b3c4d';
const ISSUED = Date.parse('2026-12-03T12:00:00.000Z');
const iso = (ms) => new Date(ms).toISOString();

function envelope(n, action, params, signer = key) {
  const issuedAt = ISSUED + n * 1000;
  return {
    v: 1,
    keyId: signer.info.keyId,
    commandId: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
    deviceId: DEVICE,
    action,
    params,
    nonce: `${String(n).padStart(2, '0')}`.repeat(16),
    issuedAt: iso(issuedAt),
    expiresAt: iso(issuedAt + COMMAND_TTL_MS),
  };
}

const validInputs = [
  { name: 'empty params', envelope: envelope(1, 'diagnostics.collect', {}) },
  { name: 'restart a systemd unit', envelope: envelope(2, 'service.restart', { unit: 'nginx.service' }) },
  {
    name: 'nested params: non-ASCII keys in UTF-16 order, escapes, numbers (1e21, 0.1, -0)',
    envelope: envelope(3, 'script.run', {
      '\u20ac': 'Euro Sign',
      '\r': 'Carriage Return',
      '\ufb33': 'Hebrew Letter Dalet With Dagesh',
      1: 'One',
      '\u{1f600}': 'Emoji: Grinning Face',
      '\u0080': 'Control',
      '\u00f6': 'Latin Small Letter O With Diaeresis',
      text: 'Gr\u00fc\u00dfe "quoted" back\\slash /slash\ttab\nnewline \u0001\u001f\u007f \u2028',
      numbers: [1e21, 0.1, -0, 1e-7, 333333333.3333333, -5, 0, 2 ** 53, 5e-324],
      nested: { z: { y: [true, false, null, [], {}] }, a: [{ b: 1, a: 2 }] },
    }),
  },
];

function signed(input) {
  return signCommand(input.signer?.privateKey ?? key.privateKey, input.envelope);
}

const valid = validInputs.map((input) => {
  const command = signed(input);
  const bytes = canonicalCommandBytes(input.envelope);
  return {
    name: input.name,
    envelope: input.envelope,
    canonicalText: Buffer.from(bytes).toString('utf8'),
    canonicalHex: Buffer.from(bytes).toString('hex'),
    signature: command.signature,
    keyId: key.info.keyId,
    publicKeyPem: key.info.publicKeyPem,
    expect: { deviceId: DEVICE, now: input.envelope.issuedAt },
  };
});

const base = signed(validInputs[1]);
const flipSignatureByte = (signature, index) => {
  const bytes = Buffer.from(signature, 'base64');
  bytes[index] ^= 0x01;
  return bytes.toString('base64');
};
const at = (offsetMs) => iso(Date.parse(base.issuedAt) + offsetMs);
const onDevice = (now, extra = {}) => ({ deviceId: DEVICE, now, ...extra });

const invalid = [
  {
    name: 'first signature byte flipped',
    signed: { ...base, signature: flipSignatureByte(base.signature, 0) },
    expect: onDevice(at(0)),
    reason: 'bad_signature',
  },
  {
    name: 'last signature byte flipped',
    signed: { ...base, signature: flipSignatureByte(base.signature, 63) },
    expect: onDevice(at(0)),
    reason: 'bad_signature',
  },
  { name: 'signed field changed: action', signed: { ...base, action: 'service.stop' }, expect: onDevice(at(0)), reason: 'bad_signature' },
  {
    name: 'signed field changed: params',
    signed: { ...base, params: { unit: 'sshd.service' } },
    expect: onDevice(at(0)),
    reason: 'bad_signature',
  },
  { name: 'signed field changed: nonce', signed: { ...base, nonce: 'ff'.repeat(16) }, expect: onDevice(at(0)), reason: 'bad_signature' },
  {
    name: 'signed field changed: both times moved by one minute',
    signed: { ...base, issuedAt: at(60_000), expiresAt: at(60_000 + COMMAND_TTL_MS) },
    expect: onDevice(at(60_000)),
    reason: 'bad_signature',
  },
  { name: "another device's command", signed: base, expect: { deviceId: OTHER_DEVICE, now: at(0) }, reason: 'other_device' },
  {
    name: 'expired (at expiresAt + default skew)',
    signed: base,
    expect: onDevice(at(COMMAND_TTL_MS + DEFAULT_MAX_CLOCK_SKEW_MS)),
    reason: 'expired',
  },
  { name: 'expired (no skew allowed)', signed: base, expect: onDevice(at(COMMAND_TTL_MS), { maxClockSkewMs: 0 }), reason: 'expired' },
  {
    name: 'not yet valid (1 ms before issuedAt − default skew)',
    signed: base,
    expect: onDevice(at(-DEFAULT_MAX_CLOCK_SKEW_MS - 1)),
    reason: 'not_yet_valid',
  },
  {
    name: 'unknown key id (signed by a key the device never pinned)',
    signed: signed({ envelope: envelope(2, 'service.restart', { unit: 'nginx.service' }, otherKey), signer: otherKey }),
    expect: onDevice(at(0)),
    reason: 'unknown_key',
  },
  {
    name: 'unknown key id (key id edited, signature unchanged)',
    signed: { ...base, keyId: otherKey.info.keyId },
    expect: onDevice(at(0)),
    reason: 'unknown_key',
  },
  { name: 'signature missing', signed: (({ signature: _, ...rest }) => rest)(base), expect: onDevice(at(0)), reason: 'malformed' },
  { name: 'unsigned extra field', signed: { ...base, run: 'rm -rf /' }, expect: onDevice(at(0)), reason: 'malformed' },
  {
    name: 'validity longer than 5 minutes',
    signed: { ...base, expiresAt: at(2 * COMMAND_TTL_MS) },
    expect: onDevice(at(0)),
    reason: 'malformed',
  },
  { name: 'upper-case key id', signed: { ...base, keyId: base.keyId.toUpperCase() }, expect: onDevice(at(0)), reason: 'malformed' },
  { name: 'not an object', signed: 'service.restart', expect: onDevice(at(0)), reason: 'malformed' },
];

// The vectors must say what the code says: refuse to write a file that contradicts itself.
for (const vector of valid) {
  const result = verifyCommand({ ...vector.envelope, signature: vector.signature }, pinnedKeys, {
    ...vector.expect,
    now: new Date(vector.expect.now),
  });
  if (!result.ok) throw new Error(`valid vector "${vector.name}" does not verify: ${result.reason}`);
}
for (const vector of invalid) {
  const result = verifyCommand(vector.signed, pinnedKeys, { ...vector.expect, now: new Date(vector.expect.now) });
  if (result.ok || result.reason !== vector.reason) throw new Error(`invalid vector "${vector.name}": got ${JSON.stringify(result)}`);
}

const file = {
  description:
    'Signed command envelope test vectors (contracts/src/command-envelope.ts). Signed bytes = UTF-8 of prefix + RFC 8785 canonical JSON of the envelope; Ed25519 signature in standard base64. Generated by contracts/scripts/generate-command-vectors.mjs; do not edit by hand.',
  warning: 'TEST ONLY keys: their seeds are public. Never configure them anywhere.',
  prefix: COMMAND_SIGNATURE_PREFIX,
  ttlMs: COMMAND_TTL_MS,
  defaultMaxClockSkewMs: DEFAULT_MAX_CLOCK_SKEW_MS,
  testKey: key.info,
  otherTestKey: otherKey.info,
  pinnedKeys,
  valid,
  invalid,
};

// JSON.stringify writes -0 as 0, but the vectors must carry a real -0 (JSON.parse('-0') is -0).
const NEGATIVE_ZERO = '\u0000negative zero\u0000';
let text = `${JSON.stringify(file, (_key, value) => (Object.is(value, -0) ? NEGATIVE_ZERO : value), 2)}\n`;
text = text.replaceAll(JSON.stringify(NEGATIVE_ZERO), '-0');
// Laid out as the repository's prettier would (npm run format:check covers this file).
const prettier = await import('prettier');
text = await prettier.format(text, { ...(await prettier.resolveConfig(output)), filepath: output });
await writeFile(output, text);
console.log(`wrote ${output}: ${valid.length} valid, ${invalid.length} invalid vectors (key ${key.info.keyId})`);
