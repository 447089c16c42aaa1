'use client';

import { AlertCountsSchema, type AlertCounts } from '@xspectre/contracts';
import { useEffect, useSyncExternalStore } from 'react';
import { api } from './api-client';
import { useLive } from './use-live';

/**
 * Open alerts by severity (`GET alerts/counts`), one copy per tab for the navigation badge and the
 * overview. Read when first shown, then again after `alert.changed` messages (a burst costs one
 * read, 400 ms after its first message) and after a reconnect. Nothing polls.
 */
const REFRESH_DELAY_MS = 400;

let counts: AlertCounts | undefined;
let timer: ReturnType<typeof setTimeout> | null = null;
let inflight = false;
let again = false;
const listeners = new Set<() => void>();

function set(next: AlertCounts): void {
  counts = next;
  for (const listener of listeners) listener();
}

async function read(): Promise<void> {
  // One read at a time; a change during a read asks once more afterwards.
  if (inflight) {
    again = true;
    return;
  }
  inflight = true;
  try {
    set(await api('alerts/counts', { schema: AlertCountsSchema }));
  } catch {
    // The badge keeps its last value (or none); the next change or reconnect reads again.
  } finally {
    inflight = false;
    if (again) {
      again = false;
      void read();
    }
  }
}

/** Reads the counts again soon (after an acknowledge or resolve made here, before its live message). */
export function refreshAlertCounts(): void {
  if (timer) return;
  timer = setTimeout(() => {
    timer = null;
    void read();
  }, REFRESH_DELAY_MS);
}

/** The open-alert counts, or undefined until read (and for operators without `alerts.view`: pass enabled=false). */
export function useAlertCounts(enabled = true): AlertCounts | undefined {
  const value = useSyncExternalStore(
    (listener) => {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
    () => counts,
    () => undefined,
  );
  useEffect(() => {
    if (enabled && counts === undefined) void read();
  }, [enabled]);
  useLive(
    (message) => {
      if (enabled && message.type === 'alert.changed') refreshAlertCounts();
    },
    () => {
      if (enabled) refreshAlertCounts();
    },
  );
  return enabled ? value : undefined;
}
