import { describe, expect, it } from 'vitest';
import { appendOlder, mergeNewest } from './paged-list';

const key = (n: number) => String(n);

describe('paged lists (newest first)', () => {
  it('appends an older page, dropping entries shifted in again by new ones at the top', () => {
    expect(appendOlder([9, 8, 7], [6, 5, 4], key)).toEqual([9, 8, 7, 6, 5, 4]);
    // Two new entries arrived between the reads: offset 3 now starts at 8.
    expect(appendOlder([9, 8, 7], [8, 7, 6], key)).toEqual([9, 8, 7, 6]);
  });

  it('merges a fresh first page into the expanded list, keeping the older pages shown', () => {
    expect(mergeNewest([9, 8, 7, 6, 5, 4], [11, 10, 9], key)).toEqual([11, 10, 9, 8, 7, 6, 5, 4]);
    expect(mergeNewest([9, 8, 7, 6], [9, 8, 7], key)).toEqual([9, 8, 7, 6]);
  });

  it('keeps only the fresh page when it does not reach the loaded entries (no gap shown)', () => {
    expect(mergeNewest([5, 4, 3], [9, 8, 7], key)).toEqual([9, 8, 7]);
    expect(mergeNewest([], [2, 1], key)).toEqual([2, 1]);
  });
});
