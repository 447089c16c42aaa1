import { useEffect, useRef } from 'react';

/**
 * Returns `schedule()`: the first call starts a `delayMs` timer, calls made meanwhile join it, and
 * `action` (always the newest one passed) runs once when it fires. A burst of live messages thus
 * costs one refetch. The timer is cleared on unmount.
 */
export function useCoalesced(action: () => void, delayMs: number): () => void {
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const latest = useRef(action);
  latest.current = action;
  useEffect(() => () => void (timer.current && clearTimeout(timer.current)), []);
  return () => {
    if (timer.current) return;
    timer.current = setTimeout(() => {
      timer.current = null;
      latest.current();
    }, delayMs);
  };
}
