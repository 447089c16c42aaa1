/** A device is offline once three heartbeat intervals have passed without one. */
export const MISSED_INTERVALS_FOR_OFFLINE = 3;

export type Connectivity = 'online' | 'offline' | 'never_seen';

export function offlineAfterMs(intervalSeconds: number): number {
  return MISSED_INTERVALS_FOR_OFFLINE * intervalSeconds * 1000;
}

export function connectivityOf(status: string, lastHeartbeatAt: Date | null, intervalSeconds: number, now = new Date()): Connectivity {
  if (!lastHeartbeatAt) return 'never_seen';
  if (status !== 'active') return 'offline';
  return now.getTime() - lastHeartbeatAt.getTime() <= offlineAfterMs(intervalSeconds) ? 'online' : 'offline';
}
