import { toStorableText } from '@xspectre/contracts';
import { isSecretKey } from './audit-redaction.js';

/**
 * What one audit row may hold. The trail is append-only, so whatever a request sends is kept
 * forever: every row is a bounded summary, and every text is made storable (PostgreSQL text
 * refuses NUL, jsonb also refuses unpaired UTF-16 surrogates, in keys as in values).
 */
export const AUDIT_BOUNDS = {
  /** Serialized details (JSON) of one row, at most. */
  detailsBytes: 4096,
  /** Keys listed per object; the rest are counted. */
  keysPerObject: 20,
  /** Items kept per array. */
  arrayItems: 10,
  /** Nesting kept below the top level. */
  depth: 4,
  /** Characters kept of a string value or a key. */
  stringChars: 200,
  keyChars: 64,
  /** Characters kept of the error message and of other columns. */
  errorChars: 500,
  columnChars: 200,
} as const;

/** A storable text cut to `max` characters (marked with an ellipsis when cut). */
export function cappedText(text: string, max: number): string {
  const clean = toStorableText(text);
  if (clean.length <= max) return clean;
  // Cutting may split a surrogate pair: make the cut end well-formed again.
  return `${toStorableText(clean.slice(0, max))}…`;
}

export function cappedColumn(text: string | null | undefined, max: number = AUDIT_BOUNDS.columnChars): string | null {
  return text === null || text === undefined ? null : cappedText(text, max);
}

/**
 * A bounded, storable copy of `value`: secrets redacted (by key name, audit-redaction.ts), at most `keysPerObject` keys per
 * object (the number left out is recorded under "…"), short arrays and strings, limited depth.
 */
function boundValue(value: unknown, depth: number, chars: number = AUDIT_BOUNDS.stringChars): unknown {
  if (typeof value === 'string') return cappedText(value, chars);
  if (value === null || typeof value !== 'object') {
    return typeof value === 'number' || typeof value === 'boolean' ? value : value === undefined ? undefined : String(value);
  }
  if (value instanceof Date) return value.toISOString();
  if (depth >= AUDIT_BOUNDS.depth) return Array.isArray(value) ? `[array of ${value.length}]` : '[object]';
  if (Array.isArray(value)) {
    const kept = value.slice(0, AUDIT_BOUNDS.arrayItems).map((v) => boundValue(v, depth + 1, chars) ?? null);
    return value.length > kept.length ? [...kept, `… ${value.length - kept.length} more`] : kept;
  }
  // No prototype: a "__proto__" key from a request body stays a plain key.
  const out: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  let count = 0;
  let omitted = 0;
  for (const key in value as Record<string, unknown>) {
    if (!Object.hasOwn(value, key)) continue;
    if (count >= AUDIT_BOUNDS.keysPerObject) {
      omitted++;
      continue;
    }
    count++;
    const v = (value as Record<string, unknown>)[key];
    out[cappedText(key, AUDIT_BOUNDS.keyChars)] = isSecretKey(key) ? '[redacted]' : boundValue(v, depth + 1, chars);
  }
  if (omitted) out['…'] = `${omitted} more keys`;
  return out;
}

const OMITTED = '[omitted: too large]';
/** Strings of an entry that did not fit are cut this short on the second try. */
const SHORT_STRING_CHARS = 32;

/**
 * The details of one row: bounded per value, then as a whole. A top-level entry that would
 * push the row past `detailsBytes` is kept with shorter strings, else replaced by a note, so
 * the route, status and error code (which callers put first) always survive.
 */
export function boundDetails(details: Record<string, unknown>): Record<string, unknown> {
  // No prototype: a "__proto__" key from a request body stays a plain key.
  const out: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  let size = 2;
  let kept = 0;
  for (const [rawKey, rawValue] of Object.entries(details)) {
    if (rawValue === undefined) continue;
    if (kept++ >= AUDIT_BOUNDS.keysPerObject) break;
    const key = cappedText(rawKey, AUDIT_BOUNDS.keyChars);
    const secret = isSecretKey(rawKey);
    const candidates = secret ? ['[redacted]'] : [boundValue(rawValue, 0), boundValue(rawValue, 0, SHORT_STRING_CHARS), OMITTED];
    for (const value of candidates) {
      const entrySize = Buffer.byteLength(JSON.stringify({ [key]: value }), 'utf8');
      if (size + entrySize > AUDIT_BOUNDS.detailsBytes) continue;
      out[key] = value;
      size += entrySize;
      break;
    }
  }
  return out;
}
