/**
 * Text PostgreSQL cannot store: NUL (text and jsonb refuse U+0000) and unpaired UTF-16
 * surrogates (they have no UTF-8 encoding). JSON and query strings can carry both, so every
 * string a client sends, keys included, is checked before it reaches a schema or the database.
 */
const NUL = '\u0000';
// Without the `u` flag the regex sees UTF-16 code units: a high surrogate not followed by a low
// one, or a low one not preceded by a high one.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const LONE_SURROGATES = new RegExp(LONE_SURROGATE.source, 'g');

export const UNSTORABLE_TEXT_MESSAGE = 'must not contain NUL characters or unpaired UTF-16 surrogates';

/** Cheap first look: most text has neither NUL nor any surrogate at all. */
// eslint-disable-next-line no-control-regex -- NUL is exactly what this looks for
const SUSPECT = /[\u0000\uD800-\uDFFF]/;

export function isStorableText(text: string): boolean {
  if (!SUSPECT.test(text)) return true;
  return !text.includes(NUL) && !LONE_SURROGATE.test(text);
}

/** For what must be kept whatever arrives (the audit trail): NUL as a visible escape, unpaired surrogates as U+FFFD. */
export function toStorableText(text: string): string {
  if (!SUSPECT.test(text)) return text;
  return text.replace(LONE_SURROGATES, '\uFFFD').replaceAll(NUL, '\\u0000');
}

export interface UnstorableText {
  /** Where the text is, e.g. `["services", "3", "unit"]`; a bad key is named by its position. */
  path: string[];
}

const MAX_FINDINGS = 20;
const MAX_DEPTH = 64;
const MAX_SEGMENT = 64;

/** A path segment as reported: long keys are cut so the error stays small. */
const segment = (key: string): string => (key.length > MAX_SEGMENT ? `${key.slice(0, MAX_SEGMENT)}…` : key);

/**
 * Every unstorable string in a parsed JSON value (at most 20 findings, so a hostile body
 * cannot make the answer large). Keys are checked too: a bad key is reported as `<key #N>`
 * because echoing it would carry the same bad text into the error.
 */
export function findUnstorableText(value: unknown): UnstorableText[] {
  const findings: UnstorableText[] = [];
  // One path stack, copied only for a finding: this runs on every heartbeat.
  const path: string[] = [];
  const walk = (v: unknown, depth: number): void => {
    if (findings.length >= MAX_FINDINGS) return;
    if (typeof v === 'string') {
      if (!isStorableText(v)) findings.push({ path: [...path] });
      return;
    }
    if (v === null || typeof v !== 'object' || depth > MAX_DEPTH) return;
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        path.push(String(i));
        walk(v[i], depth + 1);
        path.pop();
      }
      return;
    }
    let index = 0;
    for (const key in v) {
      if (!Object.hasOwn(v, key)) continue;
      if (!isStorableText(key)) findings.push({ path: [...path, `<key #${index}>`] });
      else {
        path.push(segment(key));
        walk((v as Record<string, unknown>)[key], depth + 1);
        path.pop();
      }
      index += 1;
      if (findings.length >= MAX_FINDINGS) return;
    }
  };
  walk(value, 0);
  return findings;
}
