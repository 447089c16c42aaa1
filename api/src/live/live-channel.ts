import { z } from 'zod';
import {
  LiveAlertChangedSchema,
  LiveBackupProgressSchema,
  LiveCommandChangedSchema,
  LiveDeviceEventMessageSchema,
  LiveDeviceEventsMessageSchema,
  LiveDevicesChangedSchema,
  LiveRecoveryProgressSchema,
  type LiveServerMessage,
} from '@xspectre/contracts';
import type { AppConfig } from '../config/config.js';

/**
 * Who gets a message: `fleet` goes to every live connection; `telemetry` (per-heartbeat
 * patches) only to connections subscribed to the device, so heartbeats at fleet rate are not
 * pushed to every browser.
 */
export const LiveScopeSchema = z.enum(['fleet', 'telemetry']);
export type LiveScope = z.infer<typeof LiveScopeSchema>;

/** What travels on the Redis channel, from any API instance or the worker to every API instance. */
export const LiveEnvelopeSchema = z
  .object({
    scope: LiveScopeSchema,
    message: z.discriminatedUnion('type', [
      LiveDevicesChangedSchema,
      LiveDeviceEventMessageSchema,
      LiveDeviceEventsMessageSchema,
      LiveCommandChangedSchema,
      LiveAlertChangedSchema,
      LiveBackupProgressSchema,
      LiveRecoveryProgressSchema,
    ]),
  })
  .strict();
export type LiveEnvelope = z.infer<typeof LiveEnvelopeSchema>;

/** One channel for the installation: every instance's subscriber filters per connection itself. */
export function liveChannel(config: Pick<AppConfig, 'REDIS_KEY_PREFIX'>): string {
  return `${config.REDIS_KEY_PREFIX}live`;
}

/**
 * What one connection receives of an envelope, or null for nothing: fleet messages as they are,
 * telemetry patches and events only for the devices the connection subscribed to.
 */
export function messageFor(envelope: LiveEnvelope, subscriptions: ReadonlySet<string>): LiveServerMessage | null {
  if (envelope.scope === 'fleet') return envelope.message;
  const message = envelope.message;
  if (message.type === 'device.event') return subscriptions.has(message.deviceId) ? message : null;
  if (message.type === 'device.events') {
    const events = message.events.filter((e) => subscriptions.has(e.deviceId));
    if (events.length === 0) return null;
    return events.length === message.events.length ? message : { type: 'device.events', events };
  }
  if (message.type === 'command.changed') return subscriptions.has(message.command.deviceId) ? message : null;
  if (message.type === 'backup.progress') return subscriptions.has(message.deviceId) ? message : null;
  if (message.type === 'recovery.progress') return subscriptions.has(message.deviceId) ? message : null;
  if (message.type === 'alert.changed') return message.alert.deviceId && subscriptions.has(message.alert.deviceId) ? message : null;
  if (subscriptions.size === 0) return null;
  const devices = message.devices.filter((patch) => subscriptions.has(patch.id));
  if (devices.length === 0) return null;
  return devices.length === message.devices.length ? message : { type: 'devices.changed', devices };
}
