import { z } from 'zod';
import { IsoDateTimeSchema } from './common.js';
import { CommandSchema } from './commands.js';
import { AlertSchema } from './alerts.js';
import { BackupProgressSchema } from './backups.js';
import { RecoveryProgressSchema } from './recovery.js';
import { DeviceHeadlineMetricsSchema, DeviceStatusSchema, type DeviceHeadlineMetrics } from './devices.js';

/**
 * Live updates: one WebSocket per console at `GET /api/v1/live` (JSON text frames). The server
 * pushes device changes; the client only chooses which devices' per-heartbeat telemetry it
 * wants. Fleet-level changes (status, connectivity, enrollment, events, command statuses) reach
 * every connection.
 */
export const LIVE_PATH = '/api/v1/live';
/** Largest client message; a bigger one closes the socket with 1009. */
export const LIVE_MAX_CLIENT_MESSAGE_BYTES = 64 * 1024;
/** Most devices one connection can follow telemetry of. */
export const LIVE_MAX_SUBSCRIBED_DEVICES = 500;
/** Most patches in one `devices.changed` message and events in one `device.events` message; larger changes arrive as several messages. */
export const LIVE_MAX_PATCHES_PER_MESSAGE = 500;

/** Close codes the server uses (besides 1000/1001). */
export const LiveCloseCode = {
  /** A client message over LIVE_MAX_CLIENT_MESSAGE_BYTES. */
  MessageTooBig: 1009,
  /** The client read too slowly and the server's send buffer filled: reconnect (and refetch). */
  TryAgainLater: 1013,
  /** The session ended (expired, revoked, user disabled, permission lost): refresh, then reconnect. */
  SessionEnded: 4401,
} as const;

/** The few numbers a fleet table shows, from the newest heartbeat with metrics (the same shape as in `GET devices`). */
export const DeviceLiveMetricsSchema = DeviceHeadlineMetricsSchema;
export type DeviceLiveMetrics = DeviceHeadlineMetrics;

/**
 * What changed on one device: only the fields present changed. A patch for a device the console
 * does not hold (created elsewhere, outside the current page) is a hint to `GET devices/:id`.
 */
export const DeviceLivePatchSchema = z
  .object({
    id: z.uuid(),
    status: DeviceStatusSchema.optional(),
    connectivity: z.enum(['online', 'offline']).optional(),
    hostname: z.string().max(255).nullable().optional(),
    agentVersion: z.string().max(64).nullable().optional(),
    enrolledAt: IsoDateTimeSchema.nullable().optional(),
    lastHeartbeatAt: IsoDateTimeSchema.optional(),
    lastSequence: z.number().int().min(0).optional(),
    lastHandshakeAt: IsoDateTimeSchema.nullable().optional(),
    overlayAddress: z.string().max(64).nullable().optional(),
    quarantined: z.boolean().optional(),
    metrics: DeviceLiveMetricsSchema.optional(),
  })
  .strict();
export type DeviceLivePatch = z.infer<typeof DeviceLivePatchSchema>;

/** Event types the API sends today; the field stays an open string so new types are additive. */
export const LIVE_DEVICE_EVENT_TYPES = [
  'device.created',
  'device.enrolled',
  'device.revoked',
  'device.retired',
  'connectivity.offline',
  'connectivity.online',
  'fingerprint.changed',
  'backup.failed',
  'backup.succeeded',
  'backup.overdue',
  'backup.check_failed',
  'backup.check_succeeded',
  'backup.quota_high',
  'backup.quota_ok',
  'disk_image.failed',
  'disk_image.succeeded',
  'disk_image.overdue',
  'device.recovery-mode',
  'device.recovery-mode-ended',
  'disk.smart_failed',
  'disk.smart_ok',
] as const;

export const LiveEventSeveritySchema = z.enum(['info', 'warning', 'critical']);
export type LiveEventSeverity = z.infer<typeof LiveEventSeveritySchema>;

export const DeviceLiveEventSchema = z
  .object({
    type: z.string().regex(/^[a-z][a-z0-9_.-]{0,63}$/, 'a dotted lower-case name, e.g. connectivity.offline'),
    severity: LiveEventSeveritySchema,
    at: IsoDateTimeSchema,
    details: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();
export type DeviceLiveEvent = z.infer<typeof DeviceLiveEventSchema>;

// Server → client.

export const LiveHelloSchema = z
  .object({
    type: z.literal('hello'),
    connectionId: z.uuid(),
    serverTime: IsoDateTimeSchema,
    heartbeatIntervalSeconds: z.number().int().positive().optional().describe('how often devices send heartbeats (to age lastHeartbeatAt)'),
  })
  .strict();
export const LivePongSchema = z.object({ type: z.literal('pong'), serverTime: IsoDateTimeSchema }).strict();
export const LiveSubscribedSchema = z
  .object({
    type: z.literal('subscribed'),
    deviceCount: z.number().int().min(0).describe('devices whose telemetry this connection now gets'),
  })
  .strict();
export const LiveDevicesChangedSchema = z
  .object({ type: z.literal('devices.changed'), devices: z.array(DeviceLivePatchSchema).min(1).max(LIVE_MAX_PATCHES_PER_MESSAGE) })
  .strict();
/** One device's event from a request (an operator's action, enrollment): `device.events` carries the fleet-wide ones. */
export const LiveDeviceEventMessageSchema = z
  .object({ type: z.literal('device.event'), deviceId: z.uuid(), event: DeviceLiveEventSchema })
  .strict();
export const LiveDeviceEventItemSchema = z.object({ deviceId: z.uuid(), event: DeviceLiveEventSchema }).strict();
export type LiveDeviceEventItem = z.infer<typeof LiveDeviceEventItemSchema>;
/**
 * The events of one heartbeat group commit or one offline-detection run together (devices coming
 * online or going offline, fingerprint and hardware changes): one message however many devices,
 * so a fleet reconnecting or dropping costs a console one message per commit, not one per device.
 */
export const LiveDeviceEventsMessageSchema = z
  .object({ type: z.literal('device.events'), events: z.array(LiveDeviceEventItemSchema).min(1).max(LIVE_MAX_PATCHES_PER_MESSAGE) })
  .strict();
/**
 * A command changed status (queued, delivered, running, a result, expired by the worker), sent
 * once the change committed, to every connection (like `device.event`). A re-delivery or a
 * repeated final report is no change and is not sent. Output is not carried: a console fetches
 * `GET commands/:id` once the status is final.
 */
export const LiveCommandSchema = CommandSchema.omit({ stdout: true, stderr: true });
export type LiveCommand = z.infer<typeof LiveCommandSchema>;
export const LiveCommandChangedSchema = z.object({ type: z.literal('command.changed'), command: LiveCommandSchema }).strict();
/**
 * An alert opened, was acknowledged or resolved, or its silence changed (sent once committed, to
 * every connection; a console without `alerts.view` ignores it: it only carries what the alert list shows).
 */
export const LiveAlertChangedSchema = z.object({ type: z.literal('alert.changed'), alert: AlertSchema }).strict();
/**
 * A running backup's or restore's progress, as the agent posted it (at most every
 * BACKUP_PROGRESS_INTERVAL_SECONDS): like per-heartbeat telemetry, only to connections that
 * subscribed to the device (the device page), never to the whole fleet.
 */
export const LiveBackupProgressSchema = z
  .object({
    type: z.literal('backup.progress'),
    deviceId: z.uuid(),
    runId: z.uuid(),
    progress: BackupProgressSchema,
    at: IsoDateTimeSchema,
  })
  .strict();
/**
 * A recovery command's progress (full-disk image, restore) as the recovery stick posted it (at
 * most once a second per stick): like backup progress, only to connections following the device.
 */
export const LiveRecoveryProgressSchema = z
  .object({
    type: z.literal('recovery.progress'),
    deviceId: z.uuid(),
    mediumId: z.uuid(),
    progress: RecoveryProgressSchema,
    at: IsoDateTimeSchema,
  })
  .strict();
/** Codes: MALFORMED_JSON, VALIDATION_FAILED, LIVE_MESSAGE_UNSUPPORTED. The connection stays open. */
export const LiveErrorSchema = z.object({ type: z.literal('error'), code: z.string(), message: z.string() }).strict();

export const LiveServerMessageSchema = z.discriminatedUnion('type', [
  LiveHelloSchema,
  LivePongSchema,
  LiveSubscribedSchema,
  LiveDevicesChangedSchema,
  LiveDeviceEventMessageSchema,
  LiveDeviceEventsMessageSchema,
  LiveCommandChangedSchema,
  LiveAlertChangedSchema,
  LiveBackupProgressSchema,
  LiveRecoveryProgressSchema,
  LiveErrorSchema,
]);
export type LiveServerMessage = z.infer<typeof LiveServerMessageSchema>;

// Client → server.

/** Replaces the set of devices whose per-heartbeat patches (lastHeartbeatAt, metrics) this connection gets. */
export const LiveSubscribeSchema = z
  .object({ type: z.literal('subscribe'), deviceIds: z.array(z.uuid()).max(LIVE_MAX_SUBSCRIBED_DEVICES) })
  .strict();
/** Answered with `pong`: browsers cannot see protocol pings, so this is how a console notices a dead link. */
export const LivePingSchema = z.object({ type: z.literal('ping') }).strict();

export const LiveClientMessageSchema = z.discriminatedUnion('type', [LiveSubscribeSchema, LivePingSchema]);
export type LiveClientMessage = z.infer<typeof LiveClientMessageSchema>;
export const LIVE_CLIENT_MESSAGE_TYPES = ['subscribe', 'ping'] as const;
