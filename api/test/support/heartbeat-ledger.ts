/** One device's heartbeats: what its agent handed out against what the API stored. */
export interface SequenceComparison {
  /** Handed out (1..assigned) but not stored. */
  lost: number[];
  /** Rows beyond the first per sequence. */
  duplicated: number;
  /** Stored, but never handed out (outside 1..assigned). */
  unexpected: number[];
}

/**
 * Compares the agent's sequence counter (it hands out 1, 2, … and persists the last one before
 * the heartbeat leaves) with the stored rows per sequence (`rowsPerSequence`: sequence → rows).
 * `stillJournaled` sequences are not counted as lost: the agent still holds them.
 */
export function compareSequences(
  assigned: number,
  rowsPerSequence: ReadonlyMap<number, number>,
  stillJournaled: Iterable<number> = [],
): SequenceComparison {
  if (!Number.isSafeInteger(assigned) || assigned < 0) throw new RangeError(`assigned must be a count, got ${assigned}`);
  const held = new Set(stillJournaled);
  const lost: number[] = [];
  for (let sequence = 1; sequence <= assigned; sequence++) if (!rowsPerSequence.has(sequence) && !held.has(sequence)) lost.push(sequence);
  let duplicated = 0;
  const unexpected: number[] = [];
  for (const [sequence, rows] of rowsPerSequence) {
    if (rows > 1) duplicated += rows - 1;
    if (sequence < 1 || sequence > assigned) unexpected.push(sequence);
  }
  return { lost, duplicated, unexpected: unexpected.sort((a, b) => a - b) };
}
