'use client';

import { useSyncExternalStore } from 'react';

// One shared clock for every "2 m ago" and countdown on screen (a tick, not a poll: no request is made).
let now = Date.now();
const listeners = new Set<() => void>();
let timer: ReturnType<typeof setInterval> | null = null;

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  // The clock stood still while nothing showed it: a view mounted later would first read an old
  // time ("in 5 s" for what just happened). React reads the snapshot again after subscribing.
  if (!timer) now = Date.now();
  timer ??= setInterval(() => {
    now = Date.now();
    for (const l of listeners) l();
  }, 1000);
  return () => {
    listeners.delete(listener);
    if (listeners.size === 0 && timer) {
      clearInterval(timer);
      timer = null;
    }
  };
}

/** The current time, updated every second while something on screen shows it. */
export function useNow(): number {
  return useSyncExternalStore(
    subscribe,
    () => now,
    () => now,
  );
}
