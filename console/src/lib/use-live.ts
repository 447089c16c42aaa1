'use client';

import type { LiveServerMessage } from '@xspectre/contracts';
import { useEffect, useRef, useSyncExternalStore } from 'react';
import { liveClient, type LiveStatus } from './live-client';

/** Calls `onMessage` for every live message and `onResync` after a reconnect (refetch what is shown). */
export function useLive(onMessage: (message: LiveServerMessage) => void, onResync?: () => void): void {
  const messageRef = useRef(onMessage);
  const resyncRef = useRef(onResync);
  messageRef.current = onMessage;
  resyncRef.current = onResync;
  useEffect(() => {
    const client = liveClient();
    const offMessage = client.onMessage((m) => messageRef.current(m));
    const offResync = client.onResync(() => resyncRef.current?.());
    return () => {
      offMessage();
      offResync();
    };
  }, []);
}

/** Asks for per-heartbeat telemetry of these devices while the calling view is mounted. */
export function useLiveSubscription(deviceIds: readonly string[]): void {
  const key = [...deviceIds].sort().join(',');
  useEffect(() => {
    if (!key) return;
    return liveClient().subscribe(key.split(','));
  }, [key]);
}

export function useLiveStatus(): LiveStatus {
  return useSyncExternalStore(
    (listener) => liveClient().onStatus(listener),
    () => liveClient().getStatus(),
    () => 'connecting' as LiveStatus,
  );
}
