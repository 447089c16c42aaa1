import { createHash } from 'node:crypto';

export const GENESIS_HASH = '0'.repeat(64);

/** The fields a chain hash covers, in a fixed order. */
export interface ChainedFields {
  id: string;
  occurredAt: Date;
  userId: string | null;
  userEmail: string | null;
  sourceIp: string | null;
  requestId: string | null;
  action: string;
  resourceType: string;
  resourceId: string | null;
  details: Record<string, unknown>;
  result: 'success' | 'failure';
  errorMessage: string | null;
  prevHash: string;
}

/** JSON with object keys sorted at every depth, so jsonb's key reordering cannot change a hash. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value ?? null);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

export function chainHash(row: ChainedFields): string {
  const material = canonicalJson([
    row.id,
    row.occurredAt.toISOString(),
    row.userId,
    row.userEmail,
    row.sourceIp,
    row.requestId,
    row.action,
    row.resourceType,
    row.resourceId,
    row.details,
    row.result,
    row.errorMessage,
    row.prevHash,
  ]);
  return createHash('sha256').update(material, 'utf8').digest('hex');
}

export interface ChainBreak {
  id: string;
  reason: string;
}

/**
 * Checks a run of rows in chain order, continuing from `previous` (the last row of the run
 * before, or null at the start). Returns the first break, if any.
 */
export function findChainBreak(rows: ChainedFields[], previous: { id: string; hash: string } | null): ChainBreak | null {
  let prev = previous;
  for (const row of rows) {
    const expectedId = prev ? (BigInt(prev.id) + 1n).toString() : '1';
    if (row.id !== expectedId) return { id: row.id, reason: `row ${expectedId} is missing (next row is ${row.id})` };
    const expectedPrev = prev?.hash ?? GENESIS_HASH;
    if (row.prevHash !== expectedPrev) return { id: row.id, reason: 'prev_hash does not match the previous row' };
    const hash = chainHash(row);
    if ((row as ChainedFields & { hash?: string }).hash !== hash) return { id: row.id, reason: 'row content does not match its hash' };
    prev = { id: row.id, hash };
  }
  return null;
}
