import { useEffect, useMemo, useRef, useState } from 'react';
import { RefetchSchedule } from './refetch-schedule';

/** Call it when a live message says the view is stale; `resync()` after a reconnect. */
export interface Coalesced {
  (): void;
  resync(): void;
}

const isHidden = () => typeof document !== 'undefined' && document.visibilityState === 'hidden';

/**
 * Returns `schedule()`: the first call starts a `delayMs` timer, calls made meanwhile join it, and
 * `action` (always the newest one passed) runs once when it fires. While calls keep coming the
 * interval doubles up to 10 s, back to `delayMs` once quiet; a hidden tab runs nothing until it
 * is visible again (refetch-schedule.ts). `schedule.resync()` runs once at once, joining any
 * pending run: one reload per view after a reconnect. Timers are cleared on unmount.
 */
export function useCoalesced(action: () => void, delayMs: number): Coalesced {
  const latest = useRef(action);
  latest.current = action;
  const [schedule] = useState(() => new RefetchSchedule(() => latest.current(), { baseMs: delayMs, isHidden }));
  useEffect(() => {
    const onVisibility = () => {
      if (!isHidden()) schedule.visible();
    };
    document.addEventListener('visibilitychange', onVisibility);
    return () => {
      document.removeEventListener('visibilitychange', onVisibility);
      schedule.cancel();
    };
  }, [schedule]);
  return useMemo(() => Object.assign(() => schedule.request(), { resync: () => schedule.resync() }), [schedule]);
}
