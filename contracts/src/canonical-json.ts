/**
 * JSON Canonicalization Scheme (RFC 8785, "JCS"): one byte sequence per JSON value, so a
 * signature over it does not depend on key order, whitespace or number spelling.
 *
 * - objects: members sorted by their keys compared as UTF-16 code units (what the default
 *   `Array.prototype.sort` does), `{"a":1,"b":2}` with no whitespace;
 * - arrays: elements in order, `[1,2]`;
 * - strings: as `JSON.stringify` writes them (`"`, `\` and U+0000–U+001F escaped, \b \t \n \f \r
 *   short, the rest as lower-case \u00xx; everything else literal, no \u escapes for non-ASCII);
 * - numbers: ECMAScript Number::toString, which `JSON.stringify` uses for finite numbers
 *   (`1e+21`, `0.1`, `-0` → `0`); NaN and ±Infinity have no JSON form and are refused;
 * - `true`, `false`, `null` literally.
 *
 * The input must be I-JSON (RFC 7493), as RFC 8785 requires: strings (keys too) without
 * unpaired UTF-16 surrogates. Anything that is not plain JSON data is refused rather than
 * silently dropped or converted the way `JSON.stringify` would (undefined, functions, symbols,
 * bigints, Dates, Maps, class instances, sparse arrays), so the bytes signed are always the
 * bytes of the JSON that is sent.
 */
export type JsonPrimitive = string | number | boolean | null;
export type JsonValue = JsonPrimitive | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

export class CanonicalJsonError extends Error {
  override readonly name = 'CanonicalJsonError';
}

/** Deeper nesting is refused: it also stops a cyclic structure early, before the stack runs out. */
export const CANONICAL_JSON_MAX_DEPTH = 64;

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function canonicalString(text: string, at: string): string {
  if (LONE_SURROGATE.test(text)) throw new CanonicalJsonError(`${at}: string contains an unpaired UTF-16 surrogate (not I-JSON)`);
  return JSON.stringify(text);
}

function isPlainObject(value: object): boolean {
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function write(value: unknown, at: string, depth: number, out: string[]): void {
  switch (typeof value) {
    case 'string':
      out.push(canonicalString(value, at));
      return;
    case 'number':
      if (!Number.isFinite(value)) throw new CanonicalJsonError(`${at}: ${String(value)} is not a JSON number`);
      // Number::toString; JSON.stringify(-0) is "0".
      out.push(JSON.stringify(value));
      return;
    case 'boolean':
      out.push(value ? 'true' : 'false');
      return;
    case 'object':
      break;
    default:
      throw new CanonicalJsonError(`${at}: a ${typeof value} is not JSON`);
  }
  if (value === null) {
    out.push('null');
    return;
  }
  if (depth >= CANONICAL_JSON_MAX_DEPTH) throw new CanonicalJsonError(`${at}: nested deeper than ${CANONICAL_JSON_MAX_DEPTH} levels`);
  if (Array.isArray(value)) {
    out.push('[');
    for (let i = 0; i < value.length; i++) {
      if (!(i in value)) throw new CanonicalJsonError(`${at}[${i}]: sparse arrays are not JSON`);
      if (i > 0) out.push(',');
      write(value[i], `${at}[${i}]`, depth + 1, out);
    }
    out.push(']');
    return;
  }
  if (!isPlainObject(value)) throw new CanonicalJsonError(`${at}: only plain objects are JSON objects`);
  if (Object.getOwnPropertySymbols(value).length > 0) throw new CanonicalJsonError(`${at}: symbol keys are not JSON`);
  const record = value as Record<string, unknown>;
  // Default sort order = UTF-16 code units, exactly what RFC 8785 §3.2.3 prescribes.
  const keys = Object.keys(record).sort();
  out.push('{');
  keys.forEach((key, index) => {
    if (index > 0) out.push(',');
    out.push(canonicalString(key, `${at} key #${index}`), ':');
    write(record[key], `${at}.${key}`, depth + 1, out);
  });
  out.push('}');
}

/** The RFC 8785 canonical JSON text of `value`; throws CanonicalJsonError for anything that is not I-JSON data. */
export function canonicalJson(value: unknown): string {
  const out: string[] = [];
  write(value, '$', 0, out);
  return out.join('');
}

/** UTF-8 bytes of the canonical JSON text. */
export function canonicalJsonBytes(value: unknown): Uint8Array {
  return new TextEncoder().encode(canonicalJson(value));
}
