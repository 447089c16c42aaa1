import { createHmac, randomInt } from 'node:crypto';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const LENGTH = 20; // 20 × 5 bits = 100 bits of entropy

/** A fresh code in the form a technician types: ABCD-EFGH-JKLM-NPQR-STUV. */
export function newClaimCode(): string {
  const chars = Array.from({ length: LENGTH }, () => ALPHABET[randomInt(ALPHABET.length)]).join('');
  return chars.match(/.{4}/g)!.join('-');
}

/** Upper-case, no dashes or spaces: how the code is hashed (the contract normalizes input the same way). */
export function normalizeClaimCode(code: string): string {
  return code.toUpperCase().replace(/[\s-]/g, '');
}

/** Keyed hash: a stolen table alone does not let anyone test guesses offline. */
export function hashClaimCode(key: Buffer, code: string): string {
  return createHmac('sha256', key).update(normalizeClaimCode(code)).digest('hex');
}
