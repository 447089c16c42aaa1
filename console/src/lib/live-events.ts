import type { LiveDeviceEventItem, LiveServerMessage } from '@xspectre/contracts';

/**
 * The device events a live message carries: one for `device.event` (a request's single device),
 * all of them for `device.events` (a heartbeat group commit or an offline-detection run), none
 * for anything else. Consumers handle both the same way.
 */
export function liveDeviceEvents(message: LiveServerMessage): readonly LiveDeviceEventItem[] {
  if (message.type === 'device.event') return [{ deviceId: message.deviceId, event: message.event }];
  if (message.type === 'device.events') return message.events;
  return [];
}
