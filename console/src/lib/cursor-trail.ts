/**
 * Previous/next over a keyset-paged list (`cursor` in, `nextCursor` out). The URL names the page
 * on screen; the pages before it (for "Previous") are remembered in a trail that belongs to one
 * list (its filters and sort) and one page, so a trail left over from another view is never used.
 */

/** Where a page starts: after a cursor, or at an offset (the first page, and old links with `offset=`). */
export type PageStart = { cursor: string } | { offset: number };

export interface CursorTrail {
  /** The filters and sort the trail was walked under. */
  scope: string;
  /** The page it leads to. */
  at: PageStart;
  /** The pages before it, oldest first. */
  back: PageStart[];
  /** The row (0-based) the page starts at; null when it was reached without a known position. */
  first: number | null;
}

export const FIRST_PAGE: PageStart = { offset: 0 };

export function pageStartOf(cursor: string | null | undefined, offset: string | null | undefined): PageStart {
  if (cursor) return { cursor };
  const n = Number(offset ?? 0);
  return { offset: Number.isInteger(n) && n > 0 ? n : 0 };
}

function samePage(a: PageStart, b: PageStart): boolean {
  return 'cursor' in a ? 'cursor' in b && a.cursor === b.cursor : 'offset' in b && a.offset === b.offset;
}

/** The trail for the page on screen: the remembered one when it leads here, else what the page itself tells. */
export function currentTrail(remembered: CursorTrail | null, scope: string, at: PageStart): CursorTrail {
  if (remembered && remembered.scope === scope && samePage(remembered.at, at)) return remembered;
  return { scope, at, back: [], first: 'offset' in at ? at.offset : null };
}

/** The trail after "Next": this page joins the pages before. */
export function forward(trail: CursorTrail, nextCursor: string, shown: number): CursorTrail {
  return {
    scope: trail.scope,
    at: { cursor: nextCursor },
    back: [...trail.back, trail.at],
    first: trail.first === null ? null : trail.first + shown,
  };
}

/**
 * The trail after "Previous": the last page before, or, when none is remembered, the page an
 * offset before (old links) or the first page (a linked or reloaded cursor page). Null on the first page.
 */
export function backward(trail: CursorTrail, pageSize: number): CursorTrail | null {
  const previous = trail.back[trail.back.length - 1];
  if (previous) {
    const first = trail.first === null ? null : Math.max(0, trail.first - pageSize);
    return { scope: trail.scope, at: previous, back: trail.back.slice(0, -1), first: 'offset' in previous ? previous.offset : first };
  }
  if ('offset' in trail.at) {
    if (trail.at.offset === 0) return null;
    const offset = Math.max(0, trail.at.offset - pageSize);
    return { scope: trail.scope, at: { offset }, back: [], first: offset };
  }
  return { scope: trail.scope, at: FIRST_PAGE, back: [], first: 0 };
}
