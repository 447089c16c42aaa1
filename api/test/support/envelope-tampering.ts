import { COMMAND_TTL_MS } from '@xspectre/contracts';

/** A command row's signed fields as PostgreSQL holds them (commands table). */
export interface StoredEnvelope {
  id: string;
  keyId: string;
  action: string;
  params: Record<string, unknown>;
  nonce: string;
  issuedAt: Date;
  expiresAt: Date;
  signature: string;
}

export interface Tampering {
  what: string;
  /** The edited row, or null when no change of this byte leaves a row that would still be delivered (a time already past). */
  apply(row: StoredEnvelope): StoredEnvelope | null;
}

const HEX = '0123456789abcdef';
const nextHex = (c: string) => HEX[(HEX.indexOf(c) + 1) % 16]!;
const nextLetter = (c: string) => String.fromCharCode(((c.charCodeAt(0) - 97 + 1) % 26) + 97);
const replaceAt = (s: string, i: number, c: string) => s.slice(0, i) + c + s.slice(i + 1);

/** A different character of the same kind, so the row still looks like a command and is delivered. */
function otherChar(c: string): string {
  if (/[a-z]/.test(c)) return nextLetter(c);
  if (/[0-9]/.test(c)) return String((Number(c) + 1) % 10);
  return c === '.' ? 'x' : '.';
}

/** A UUID digit changed, keeping the version (1–8) and variant (8, 9, a, b) digits valid. */
function otherUuidChar(uuid: string, i: number): string {
  if (i === 14) return uuid[i] === '4' ? '5' : '4';
  if (i === 19) return '89ab'[('89ab'.indexOf(uuid[i]!) + 1) % 4]!;
  return nextHex(uuid[i]!);
}

/**
 * One change per case, each to one stored byte of the signed fields: every hex digit of the key
 * id, the command id and the nonce, every character of the action and of the params' key and
 * value, every digit of the issue and expiry times (the other time moves with it, so the
 * 5-minute validity still holds and only the signature can tell), and every byte of the
 * signature (re-encoded as base64, so its form stays valid). The device id is a case of its own
 * (another device's id). Times stay far enough in the future to be delivered.
 */
export function envelopeTamperings(sample: StoredEnvelope, now = Date.now()): Tampering[] {
  const cases: Tampering[] = [];
  for (let i = 0; i < sample.keyId.length; i++)
    cases.push({ what: `keyId[${i}]`, apply: (r) => ({ ...r, keyId: replaceAt(r.keyId, i, nextHex(r.keyId[i]!)) }) });
  for (let i = 0; i < sample.id.length; i++) {
    if (sample.id[i] === '-') continue;
    cases.push({ what: `commandId[${i}]`, apply: (r) => ({ ...r, id: replaceAt(r.id, i, otherUuidChar(r.id, i)) }) });
  }
  for (let i = 0; i < sample.action.length; i++)
    cases.push({ what: `action[${i}]`, apply: (r) => ({ ...r, action: replaceAt(r.action, i, otherChar(r.action[i]!)) }) });
  for (const [key, value] of Object.entries(sample.params)) {
    for (let i = 0; i < key.length; i++) {
      cases.push({
        what: `params key ${key}[${i}]`,
        apply: (r) => {
          const { [key]: kept, ...rest } = r.params;
          return { ...r, params: { ...rest, [replaceAt(key, i, otherChar(key[i]!))]: kept } };
        },
      });
    }
    if (typeof value !== 'string') continue;
    for (let i = 0; i < value.length; i++) {
      cases.push({
        what: `params.${key}[${i}]`,
        apply: (r) => ({ ...r, params: { ...r.params, [key]: replaceAt(String(r.params[key]), i, otherChar(value[i]!)) } }),
      });
    }
  }
  for (let i = 0; i < sample.nonce.length; i++)
    cases.push({ what: `nonce[${i}]`, apply: (r) => ({ ...r, nonce: replaceAt(r.nonce, i, nextHex(r.nonce[i]!)) }) });
  for (const field of ['issuedAt', 'expiresAt'] as const) {
    const iso = sample[field].toISOString();
    for (let i = 0; i < iso.length; i++) {
      if (!/[0-9]/.test(iso[i]!)) continue;
      cases.push({
        what: `${field}[${i}]`,
        apply: (r) => {
          const changed = changedTime(r[field].toISOString(), i, field === 'issuedAt' ? COMMAND_TTL_MS : 0, now);
          if (changed === null) return null;
          const issuedAt = field === 'issuedAt' ? changed : changed - COMMAND_TTL_MS;
          return { ...r, issuedAt: new Date(issuedAt), expiresAt: new Date(issuedAt + COMMAND_TTL_MS) };
        },
      });
    }
  }
  for (let i = 0; i < 64; i++) {
    cases.push({
      what: `signature byte ${i}`,
      apply: (r) => {
        const bytes = Buffer.from(r.signature, 'base64');
        bytes[i] = bytes[i]! ^ 0x01;
        return { ...r, signature: bytes.toString('base64') };
      },
    });
  }
  return cases;
}

/** The time with digit `i` of its ISO form replaced: a valid time (no roll-over) whose expiry is 3+ minutes ahead. */
function changedTime(iso: string, i: number, expiryOffsetMs: number, now: number): number | null {
  const digit = Number(iso[i]);
  for (let step = 1; step < 10; step++) {
    const candidate = replaceAt(iso, i, String((digit + step) % 10));
    const time = Date.parse(candidate);
    if (Number.isNaN(time) || new Date(time).toISOString() !== candidate) continue;
    if (time + expiryOffsetMs < now + 3 * 60_000) continue;
    return time;
  }
  return null;
}
