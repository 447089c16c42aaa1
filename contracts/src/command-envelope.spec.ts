import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  COMMAND_PARAMS_MAX_BYTES,
  COMMAND_SIGNATURE_PREFIX,
  COMMAND_TTL_MS,
  CommandEnvelopeSchema,
  SignedCommandSchema,
  canonicalCommandBytes,
  type CommandEnvelope,
} from './command-envelope.js';

interface ValidVector {
  name: string;
  envelope: CommandEnvelope;
  canonicalText: string;
  canonicalHex: string;
  signature: string;
}
const vectors = JSON.parse(readFileSync(new URL('../test-vectors/command-envelope.json', import.meta.url), 'utf8')) as {
  prefix: string;
  ttlMs: number;
  valid: ValidVector[];
};
const [emptyParams, restart, nested] = vectors.valid as [ValidVector, ValidVector, ValidVector];

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
const valid = (): CommandEnvelope => structuredClone(restart.envelope);
const accepts = (change: (envelope: Record<string, unknown>) => void) => {
  const envelope: Record<string, unknown> = valid();
  change(envelope);
  return CommandEnvelopeSchema.safeParse(envelope).success;
};

describe('canonicalCommandBytes', () => {
  it('reproduces every vector byte for byte', () => {
    expect(vectors.valid.length).toBeGreaterThanOrEqual(3);
    for (const vector of vectors.valid) {
      const bytes = canonicalCommandBytes(CommandEnvelopeSchema.parse(vector.envelope));
      expect(hex(bytes), vector.name).toBe(vector.canonicalHex);
      expect(new TextDecoder().decode(bytes), vector.name).toBe(vector.canonicalText);
    }
  });

  it('is the prefix and the envelope as RFC 8785 JSON, written out by hand for one vector', () => {
    expect(vectors.prefix).toBe(COMMAND_SIGNATURE_PREFIX);
    expect(restart.canonicalText).toBe(
      'xspectre-command-v1\n{"action":"service.restart","commandId":"00000000-0000-4000-8000-000000000002",' +
        '"deviceId":"3f2b8c1e-7a4d-4e5f-9b6a-0c1d2e3f4a5b","expiresAt":"2026-12-03T12:05:02.000Z",' +
        '"issuedAt":"2026-12-03T12:00:02.000Z","keyId":"3d79d11255e61bca","nonce":"02020202020202020202020202020202",' +
        '"params":{"unit":"nginx.service"},"v":1}',
    );
    expect(emptyParams.canonicalText).toContain('"params":{},');
  });

  it('writes -0 as 0, 1e21 as 1e+21, and sorts non-ASCII keys by UTF-16 code units', () => {
    const numbers = (nested.envelope.params as { numbers: number[] }).numbers;
    expect(Object.is(numbers[2], -0)).toBe(true);
    expect(nested.canonicalText).toContain('"numbers":[1e+21,0.1,0,1e-7,');
    expect(nested.canonicalText).toContain('"text":"Grüße \\"quoted\\" back\\\\slash /slash\\ttab\\nnewline \\u0001\\u001f\u007f \u2028"');
    expect(nested.canonicalText).toMatch(
      /"params":\{"\\r":.*"1":.*"nested":.*"numbers":.*"text":.*"\u0080":.*"\u00f6":.*"\u20ac":.*"\u{1f600}":.*"\ufb33":/su,
    );
  });

  it('covers exactly the envelope fields, whatever their order: a signature or other field is left out', () => {
    const reversed = Object.fromEntries(Object.entries(restart.envelope).reverse()) as CommandEnvelope;
    const withMore = { ...restart.envelope, signature: restart.signature, extra: 1 } as CommandEnvelope;
    expect(hex(canonicalCommandBytes(reversed))).toBe(restart.canonicalHex);
    expect(hex(canonicalCommandBytes(withMore))).toBe(restart.canonicalHex);
  });

  it('changes with every signed field', () => {
    const changes: Partial<CommandEnvelope>[] = [
      { v: 2 as 1 },
      { keyId: '0000000000000000' },
      { commandId: '00000000-0000-4000-8000-000000000009' },
      { deviceId: '00000000-0000-4000-8000-000000000009' },
      { action: 'service.stop' },
      { params: { unit: 'nginx.service', x: 1 } },
      { nonce: '00'.repeat(16) },
      { issuedAt: '2026-12-03T12:00:02.001Z' },
      { expiresAt: '2026-12-03T12:05:02.001Z' },
    ];
    for (const change of changes)
      expect(hex(canonicalCommandBytes({ ...restart.envelope, ...change })), JSON.stringify(change)).not.toBe(restart.canonicalHex);
  });
});

describe('CommandEnvelopeSchema', () => {
  it('accepts the vectors, and the signed ones with their signatures', () => {
    expect(vectors.ttlMs).toBe(COMMAND_TTL_MS);
    for (const vector of vectors.valid) {
      expect(CommandEnvelopeSchema.safeParse(vector.envelope).success, vector.name).toBe(true);
      expect(SignedCommandSchema.safeParse({ ...vector.envelope, signature: vector.signature }).success, vector.name).toBe(true);
    }
  });

  it('refuses unsigned extra fields (strict) in both the envelope and the signed command', () => {
    expect(accepts((e) => (e.extra = 1))).toBe(false);
    expect(accepts((e) => (e.signature = restart.signature))).toBe(false);
    expect(SignedCommandSchema.safeParse({ ...restart.envelope, signature: restart.signature, extra: 1 }).success).toBe(false);
    expect(SignedCommandSchema.safeParse(restart.envelope).success).toBe(false);
  });

  it('checks version, key id, ids and nonce', () => {
    expect(accepts((e) => (e.v = 2))).toBe(false);
    expect(accepts((e) => (e.v = '1'))).toBe(false);
    for (const keyId of ['3D79D11255E61BCA', '3d79d11255e61bc', '3d79d11255e61bcaa', '3d79d11255e61bcg']) {
      expect(
        accepts((e) => (e.keyId = keyId)),
        keyId,
      ).toBe(false);
    }
    for (const id of ['not-a-uuid', '3F2B8C1E-7A4D-4E5F-9B6A-0C1D2E3F4A5B', '3f2b8c1e7a4d4e5f9b6a0c1d2e3f4a5b', '']) {
      expect(
        accepts((e) => (e.commandId = id)),
        id,
      ).toBe(false);
      expect(
        accepts((e) => (e.deviceId = id)),
        id,
      ).toBe(false);
    }
    for (const nonce of ['0'.repeat(31), '0'.repeat(33), 'A'.repeat(32), 'g'.repeat(32)])
      expect(
        accepts((e) => (e.nonce = nonce)),
        nonce,
      ).toBe(false);
  });

  it('takes dotted lower-case action names (a dash inside a word) up to 64 characters', () => {
    for (const action of [
      'reboot',
      'service.restart',
      'agent.settings.push',
      'script_library.run2',
      'scanner.provision-monitor',
      `a.${'b'.repeat(62)}`,
    ]) {
      expect(
        accepts((e) => (e.action = action)),
        action,
      ).toBe(true);
    }
    for (const action of [
      'Service.restart',
      'service.',
      '.service',
      'service..restart',
      '1service',
      'service restart',
      'service-',
      '-service',
      'scanner.-restart',
      'scanner.feed--update',
      `a.${'b'.repeat(63)}`,
      '',
    ]) {
      expect(
        accepts((e) => (e.action = action)),
        action,
      ).toBe(false);
    }
  });

  it('wants ISO 8601 UTC timestamps with milliseconds, exactly 5 minutes apart', () => {
    const times = (issuedAt: string, expiresAt: string) => accepts((e) => Object.assign(e, { issuedAt, expiresAt }));
    expect(times('2026-12-31T23:58:00.000Z', '2027-01-01T00:03:00.000Z')).toBe(true);
    expect(times('2026-12-03T12:00:00Z', '2026-12-03T12:05:00Z')).toBe(false);
    expect(times('2026-12-03T12:00:00.000+00:00', '2026-12-03T12:05:00.000+00:00')).toBe(false);
    expect(times('2026-12-03 12:00:00.000Z', '2026-12-03 12:05:00.000Z')).toBe(false);
    expect(times('2026-02-30T12:00:00.000Z', '2026-02-30T12:05:00.000Z')).toBe(false);
    expect(times('2026-12-03T24:00:00.000Z', '2026-12-04T00:05:00.000Z')).toBe(false);
    expect(times('2026-12-03T12:00:00.000Z', '2026-12-03T12:04:59.999Z')).toBe(false);
    expect(times('2026-12-03T12:00:00.000Z', '2026-12-03T12:05:00.001Z')).toBe(false);
    expect(times('2026-12-03T12:05:00.000Z', '2026-12-03T12:00:00.000Z')).toBe(false);
  });

  it('takes params as a JSON object only', () => {
    for (const params of [null, [], 'x', 1, true, new Date(0), new Map()])
      expect(
        accepts((e) => (e.params = params)),
        String(params),
      ).toBe(false);
    expect(accepts((e) => (e.params = Object.create(null)))).toBe(true);
    expect(accepts((e) => (e.params = { a: new Date(0) }))).toBe(false);
    expect(accepts((e) => (e.params = { a: undefined }))).toBe(false);
    expect(accepts((e) => (e.params = { a: () => 1 }))).toBe(false);
    // eslint-disable-next-line no-sparse-arrays
    expect(accepts((e) => (e.params = { a: [1, , 2] }))).toBe(false);
  });

  it('limits params to 8 levels of nesting, the params object being level 1', () => {
    const nest = (levels: number) => {
      let value: Record<string, unknown> = {};
      for (let i = 1; i < levels; i++) value = { n: value };
      return value;
    };
    const arrays = (count: number) => {
      let value: unknown = 1;
      for (let i = 0; i < count; i++) value = [value];
      return { a: value };
    };
    expect(accepts((e) => (e.params = nest(8)))).toBe(true);
    expect(accepts((e) => (e.params = arrays(7)))).toBe(true);
    expect(accepts((e) => (e.params = arrays(8)))).toBe(false);
    expect(accepts((e) => (e.params = nest(9)))).toBe(false);
  });

  it('limits params to 64 KiB of canonical JSON', () => {
    const overhead = '{"s":""}'.length;
    expect(accepts((e) => (e.params = { s: 'x'.repeat(COMMAND_PARAMS_MAX_BYTES - overhead) }))).toBe(true);
    expect(accepts((e) => (e.params = { s: 'x'.repeat(COMMAND_PARAMS_MAX_BYTES - overhead + 1) }))).toBe(false);
    // Bytes, not characters: "€" is 3 bytes of UTF-8.
    expect(accepts((e) => (e.params = { s: '\u20ac'.repeat(Math.floor((COMMAND_PARAMS_MAX_BYTES - overhead) / 3) + 1) }))).toBe(false);
  });

  it('refuses non-finite numbers and text PostgreSQL cannot store, in values and keys', () => {
    for (const bad of [NaN, Infinity, -Infinity, 'a\u0000b', '\ud800', ['ok', '\udc00']]) {
      expect(
        accepts((e) => (e.params = { deep: { value: bad } })),
        String(bad),
      ).toBe(false);
    }
    expect(accepts((e) => (e.params = { 'a\u0000': 1 }))).toBe(false);
    expect(accepts((e) => (e.params = { '\ud83d': 1 }))).toBe(false);
    expect(accepts((e) => (e.params = { '\ud83d\ude00': 1e21, neg: -0 }))).toBe(true);
  });

  it('refuses a __proto__ key, which copying would turn into a prototype', () => {
    expect(accepts((e) => (e.params = JSON.parse('{"__proto__":{"unit":"x"}}')))).toBe(false);
    expect(accepts((e) => (e.params = JSON.parse('{"a":{"__proto__":1}}')))).toBe(false);
    expect(
      SignedCommandSchema.safeParse(
        JSON.parse(`{"__proto__":{},${JSON.stringify({ ...restart.envelope, signature: restart.signature }).slice(1)}`),
      ).success,
    ).toBe(false);
  });

  it('keeps the very params object it was given', () => {
    const params = { unit: 'nginx.service' };
    expect(CommandEnvelopeSchema.parse({ ...valid(), params }).params).toBe(params);
  });
});

describe('SignedCommandSchema signature', () => {
  const withSignature = (signature: string) => SignedCommandSchema.safeParse({ ...restart.envelope, signature }).success;
  it('is canonical base64 of exactly 64 bytes', () => {
    expect(withSignature(restart.signature)).toBe(true);
    expect(withSignature(Buffer.alloc(64, 0xff).toString('base64'))).toBe(true);
    expect(withSignature(Buffer.alloc(63).toString('base64'))).toBe(false);
    expect(withSignature(Buffer.alloc(65).toString('base64'))).toBe(false);
    expect(withSignature(restart.signature.replace(/==$/, ''))).toBe(false);
    expect(withSignature(Buffer.alloc(64).toString('base64url'))).toBe(false);
    // Same bytes when decoded leniently, but the spare bits are not zero: not the canonical form.
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
    const last = alphabet.indexOf(restart.signature[85] ?? '');
    const spareBitsSet = `${restart.signature.slice(0, 85)}${alphabet[last | 1]}==`;
    expect(Buffer.from(spareBitsSet, 'base64')).toEqual(Buffer.from(restart.signature, 'base64'));
    expect(withSignature(spareBitsSet)).toBe(false);
    expect(withSignature(`${'A'.repeat(85)}B==`)).toBe(false);
  });
});
