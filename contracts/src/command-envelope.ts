/**
 * The signed command envelope: what the API signs with its command-signing key (Ed25519) and
 * the device's agent verifies before it runs anything.
 *
 * Signed bytes (`canonicalCommandBytes`), version 1:
 *
 *     UTF-8( "xspectre-command-v1\n" + JCS(envelope) )
 *
 * - the prefix separates these signatures from anything else the key might ever sign;
 * - JCS is RFC 8785 canonical JSON (./canonical-json.ts) of exactly the nine envelope fields
 *   below (`v`, `keyId`, `commandId`, `deviceId`, `action`, `params`, `nonce`, `issuedAt`,
 *   `expiresAt`; never `signature`, never any other field);
 * - the signature is Ed25519 (RFC 8032, pure, no pre-hash) over those bytes, sent as standard
 *   base64 with padding in `signature`.
 *
 * Test vectors: contracts/test-vectors/command-envelope.json (scripts/generate-command-vectors.mjs).
 * Signing and verification need node:crypto and live in ./node/command-signature.ts
 * (`@xspectre/contracts/command-signature`), so this file stays loadable in the browser.
 */
import { z } from 'zod';
import { canonicalJson, canonicalJsonBytes, type JsonObject } from './canonical-json.js';
import { isStorableText } from './storable-text.js';

/** Exactly how long a command is valid: expiresAt = issuedAt + 5 minutes. */
export const COMMAND_TTL_MS = 5 * 60 * 1000;
export const COMMAND_ENVELOPE_VERSION = 1;
/** Domain separation prefix of the signed bytes. */
export const COMMAND_SIGNATURE_PREFIX = 'xspectre-command-v1\n';
/** Nesting of `params`: the params object itself is level 1. */
export const COMMAND_PARAMS_MAX_DEPTH = 8;
/** UTF-8 bytes of the canonical JSON of `params`. */
export const COMMAND_PARAMS_MAX_BYTES = 64 * 1024;

const LOWER_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ISO_UTC_MILLIS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

export const CommandKeyIdSchema = z
  .string()
  .regex(/^[0-9a-f]{16}$/, 'must be 16 lower-case hex digits (SHA-256 of the SPKI DER public key, first 8 bytes)');

const CommandUuidSchema = z.uuid().regex(LOWER_UUID, 'must be a lower-case UUID');

export const CommandActionSchema = z
  .string()
  .max(64, 'must be at most 64 characters')
  // A dash inside a word too: the scanner actions (commands.ts) are named scanner.provision-monitor and the like.
  .regex(
    /^[a-z][a-z0-9_]*(-[a-z0-9_]+)*(\.[a-z][a-z0-9_]*(-[a-z0-9_]+)*)*$/,
    'must be a dotted lower-case name such as service.restart or scanner.feed-update',
  );

/** ISO 8601 UTC with milliseconds, as `Date.prototype.toISOString` writes it (years 0000–9999). */
export const CommandTimestampSchema = z
  .string()
  .regex(ISO_UTC_MILLIS, 'must be an ISO 8601 UTC timestamp with milliseconds, e.g. 2026-01-01T00:00:00.000Z')
  .refine((text) => {
    const time = Date.parse(text);
    return Number.isFinite(time) && new Date(time).toISOString() === text;
  }, 'must be a real date and time');

/** First problem that keeps `value` from being command params, or null: JSON data, bounded depth, storable text, finite numbers. */
function paramsProblem(value: unknown, depth: number): string | null {
  if (value === null || typeof value === 'boolean') return null;
  if (typeof value === 'string') return isStorableText(value) ? null : 'strings must not contain NUL or unpaired UTF-16 surrogates';
  if (typeof value === 'number') return Number.isFinite(value) ? null : 'numbers must be finite';
  if (typeof value !== 'object') return `a ${typeof value} is not JSON`;
  if (depth > COMMAND_PARAMS_MAX_DEPTH) return `must be nested at most ${COMMAND_PARAMS_MAX_DEPTH} levels deep`;
  const proto: unknown = Object.getPrototypeOf(value);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const problem = i in value ? paramsProblem(value[i], depth + 1) : 'sparse arrays are not JSON';
      if (problem) return problem;
    }
    return null;
  }
  if (proto !== Object.prototype && proto !== null) return 'only plain JSON objects are allowed';
  if (Object.getOwnPropertySymbols(value).length > 0) return 'symbol keys are not JSON';
  for (const [key, item] of Object.entries(value)) {
    if (!isStorableText(key)) return 'keys must not contain NUL or unpaired UTF-16 surrogates';
    // Copies made with `copy[key] = …` (zod's own record parsing among them) would set the prototype instead.
    if (key === '__proto__') return 'the key __proto__ is not allowed';
    const problem = paramsProblem(item, depth + 1);
    if (problem) return problem;
  }
  return null;
}

/**
 * Action parameters: a JSON object, at most 8 levels deep and 64 KiB as canonical JSON.
 * z.custom keeps the very object that arrived (z.record would copy it and silently drop a
 * `__proto__` key), so what is checked is what is canonicalized.
 */
export const CommandParamsSchema = z
  .custom<JsonObject>((value) => value !== null && typeof value === 'object' && !Array.isArray(value), 'must be a JSON object')
  .superRefine((value, ctx) => {
    const problem = paramsProblem(value, 1);
    if (problem) {
      ctx.addIssue({ code: 'custom', message: problem });
      return;
    }
    if (new TextEncoder().encode(canonicalJson(value)).length > COMMAND_PARAMS_MAX_BYTES) {
      ctx.addIssue({ code: 'custom', message: `must be at most ${COMMAND_PARAMS_MAX_BYTES} bytes as canonical JSON` });
    }
  })
  .describe('action parameters: a JSON object, at most 8 levels deep and 64 KiB as canonical JSON');

const envelopeShape = {
  v: z.literal(COMMAND_ENVELOPE_VERSION),
  keyId: CommandKeyIdSchema,
  commandId: CommandUuidSchema,
  deviceId: CommandUuidSchema,
  action: CommandActionSchema,
  params: CommandParamsSchema,
  nonce: z.string().regex(/^[0-9a-f]{32}$/, 'must be 32 lower-case hex digits (16 random bytes)'),
  issuedAt: CommandTimestampSchema,
  expiresAt: CommandTimestampSchema,
};

function exactTtl(envelope: { issuedAt: string; expiresAt: string }, ctx: z.RefinementCtx): void {
  if (Date.parse(envelope.expiresAt) - Date.parse(envelope.issuedAt) !== COMMAND_TTL_MS) {
    ctx.addIssue({ code: 'custom', path: ['expiresAt'], message: `must be exactly ${COMMAND_TTL_MS / 60_000} minutes after issuedAt` });
  }
}

/** The signed fields. Strict: a field the signature does not cover is refused, never ignored. */
export const CommandEnvelopeSchema = z.strictObject(envelopeShape).superRefine(exactTtl);
export type CommandEnvelope = z.infer<typeof CommandEnvelopeSchema>;

/** Ed25519 signature, 64 bytes in canonical base64: 86 characters (the last one carrying 2 zero bits of padding) and `==`. */
export const CommandSignatureSchema = z.string().regex(/^[A-Za-z0-9+/]{85}[AQgw]==$/, 'must be the base64 of a 64-byte Ed25519 signature');

export const SignedCommandSchema = z.strictObject({ ...envelopeShape, signature: CommandSignatureSchema }).superRefine(exactTtl);
export type SignedCommand = z.infer<typeof SignedCommandSchema>;

/** The envelope's fields and nothing else (a SignedCommand's signature is left out). */
export function commandEnvelopeFields(envelope: CommandEnvelope): CommandEnvelope {
  const { v, keyId, commandId, deviceId, action, params, nonce, issuedAt, expiresAt } = envelope;
  return { v, keyId, commandId, deviceId, action, params, nonce, issuedAt, expiresAt };
}

/**
 * The bytes that are signed: UTF-8 of the prefix and the canonical JSON of the envelope's nine
 * fields. Expects an envelope that passed CommandEnvelopeSchema (signCommand and verifyCommand
 * check that first); throws CanonicalJsonError for values that are not JSON.
 */
export function canonicalCommandBytes(envelope: CommandEnvelope): Uint8Array {
  const prefix = new TextEncoder().encode(COMMAND_SIGNATURE_PREFIX);
  const body = canonicalJsonBytes(commandEnvelopeFields(envelope));
  const bytes = new Uint8Array(prefix.length + body.length);
  bytes.set(prefix, 0);
  bytes.set(body, prefix.length);
  return bytes;
}
