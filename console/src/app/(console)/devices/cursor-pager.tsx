'use client';

import { useState } from 'react';
import { Button, uiStyles } from '../../../components/ui';
import { backward, currentTrail, forward, type CursorTrail, type PageStart } from '../../../lib/cursor-trail';

export interface CursorPaging {
  trail: CursorTrail;
  /** The page after this one (its `nextCursor`, and how many rows this one shows). */
  next: (nextCursor: string, shown: number) => void;
  /** Null on the first page. */
  previous: (() => void) | null;
}

/**
 * The trail of the pages before the one the URL names (state, like the audit log's: a reload or a
 * link starts without one, and "Previous" then leads to the first page). `go` puts a page in the URL.
 */
export function useCursorPaging(scope: string, at: PageStart, pageSize: number, go: (start: PageStart) => void): CursorPaging {
  const [remembered, setRemembered] = useState<CursorTrail | null>(null);
  const trail = currentTrail(remembered, scope, at);
  const before = backward(trail, pageSize);
  const move = (to: CursorTrail) => {
    setRemembered(to);
    go(to.at);
  };
  return {
    trail,
    next: (nextCursor, shown) => move(forward(trail, nextCursor, shown)),
    previous: before && (() => move(before)),
  };
}

/** Rows x–y of the total when the position is known; "Previous" says "First page" when it leads there from afar. */
export function CursorPager({
  paging,
  shown,
  total,
  nextCursor,
  busy,
}: {
  paging: CursorPaging;
  shown: number;
  total: number;
  nextCursor: string | null | undefined;
  busy: boolean;
}) {
  const { trail } = paging;
  const first = trail.first;
  const toFirst = trail.back.length === 0 && 'cursor' in trail.at;
  return (
    <nav className={uiStyles.pager} aria-label="Pages">
      <span data-testid="device-range">
        {first === null
          ? `${shown.toLocaleString('en')} of ${total.toLocaleString('en')} (a later page)`
          : `${(shown === 0 ? first : first + 1).toLocaleString('en')}–${(first + shown).toLocaleString('en')} of ${total.toLocaleString('en')}`}
      </span>
      <div>
        <Button size="small" onClick={() => paging.previous?.()} disabled={busy || !paging.previous}>
          {toFirst ? '← First page' : '← Previous'}
        </Button>
        <Button size="small" onClick={() => nextCursor && paging.next(nextCursor, shown)} disabled={busy || !nextCursor}>
          Next →
        </Button>
      </div>
    </nav>
  );
}
