import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Redis } from 'ioredis';
import {
  LIVE_MAX_PATCHES_PER_MESSAGE,
  type DeviceLiveEvent,
  type DeviceLivePatch,
  type LiveDeviceEventItem,
  type LiveCommand,
  type Alert,
  type BackupProgress,
  type RecoveryProgress,
} from '@xspectre/contracts';
import { APP_CONFIG, type AppConfig } from '../config/config.js';
import { requestContext } from '../common/context/request-context.js';
import { REDIS } from '../redis/redis.token.js';
import { LiveEnvelopeSchema, liveChannel, type LiveEnvelope, type LiveScope } from './live-channel.js';

type PublishKind =
  | 'devices.changed:fleet'
  | 'devices.changed:telemetry'
  | 'device.event'
  | 'device.events'
  | 'command.changed'
  | 'alert.changed'
  | 'backup.progress'
  | 'recovery.progress';

/**
 * Tells every API instance's live connections what changed, through Redis pub/sub. Best-effort:
 * the database is the truth, a console refetches after reconnecting, so a publish that fails is
 * logged (once per kind until it works again) and dropped, never thrown into the caller.
 * Call it after the change committed; on a request path there is no need to await it.
 */
@Injectable()
export class LivePublisher {
  private readonly logger = new Logger(LivePublisher.name);
  private readonly channel: string;
  private readonly failing = new Set<PublishKind>();

  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.channel = liveChannel(config);
  }

  /**
   * `fleet`: status, connectivity, enrollment, tunnel changes, sent to every console.
   * `telemetry`: per-heartbeat fields (lastHeartbeatAt, lastSequence, metrics), sent only to
   * connections subscribed to the device.
   */
  async devicesChanged(patches: DeviceLivePatch[], scope: LiveScope): Promise<void> {
    for (let i = 0; i < patches.length; i += LIVE_MAX_PATCHES_PER_MESSAGE) {
      const devices = patches.slice(i, i + LIVE_MAX_PATCHES_PER_MESSAGE);
      await this.publish(`devices.changed:${scope}`, { scope, message: { type: 'devices.changed', devices } });
    }
  }

  /**
   * Something happened to one device on a request path (an operator's action, enrollment): sent
   * to every console as `device.event`. Paths that touch many devices at once use `deviceEvents`.
   */
  async deviceEvent(deviceId: string, event: DeviceLiveEvent): Promise<void> {
    await this.publish('device.event', { scope: 'fleet', message: { type: 'device.event', deviceId, event } });
  }

  /**
   * The events of one heartbeat group commit or one worker run (connectivity, fingerprint,
   * hardware) as `device.events` messages of up to LIVE_MAX_PATCHES_PER_MESSAGE each, sent to every
   * console: a fleet coming online or dropping costs one message per commit, not one per device.
   */
  async deviceEvents(events: LiveDeviceEventItem[]): Promise<void> {
    for (let i = 0; i < events.length; i += LIVE_MAX_PATCHES_PER_MESSAGE) {
      const chunk = events.slice(i, i + LIVE_MAX_PATCHES_PER_MESSAGE);
      await this.publish('device.events', { scope: 'fleet', message: { type: 'device.events', events: chunk } });
    }
  }

  /**
   * A command's new status (without its output): sent to every console, like device events (every
   * role that may open the live connection may view every device and its commands).
   */
  async commandChanged(command: LiveCommand): Promise<void> {
    await this.publish('command.changed', { scope: 'fleet', message: { type: 'command.changed', command } });
  }

  /** An alert opened, was acknowledged, resolved or unsilenced: sent to every console (alerts.view is every role's). */
  async alertChanged(alert: Alert): Promise<void> {
    await this.publish('alert.changed', { scope: 'fleet', message: { type: 'alert.changed', alert } });
  }

  /**
   * A running backup's progress: telemetry scope, so only connections following the device (its
   * page) get it, the way per-heartbeat patches go; a fleet of backups at 02:00 posting every 2 s
   * would otherwise reach every console.
   */
  async backupProgress(deviceId: string, runId: string, progress: BackupProgress, at: Date): Promise<void> {
    await this.publish('backup.progress', {
      scope: 'telemetry',
      message: { type: 'backup.progress', deviceId, runId, progress, at: at.toISOString() },
    });
  }

  /** A recovery command's progress (api/src/recovery): telemetry scope, like backup progress. */
  async recoveryProgress(deviceId: string, mediumId: string, progress: RecoveryProgress, at: Date): Promise<void> {
    await this.publish('recovery.progress', {
      scope: 'telemetry',
      message: { type: 'recovery.progress', deviceId, mediumId, progress, at: at.toISOString() },
    });
  }

  /**
   * A device's fleet patch and its event, sent once the current request commits (at once outside
   * a request). Not awaited there: the response does not wait on Redis.
   */
  announceAfterCommit(patch: DeviceLivePatch, event: DeviceLiveEvent): void {
    requestContext.afterCommit(async () => {
      void this.devicesChanged([patch], 'fleet');
      void this.deviceEvent(patch.id, event);
    });
  }

  private async publish(kind: PublishKind, envelope: LiveEnvelope): Promise<void> {
    const parsed = LiveEnvelopeSchema.safeParse(envelope);
    if (!parsed.success) {
      // A bug in the caller; consoles must never receive what the contract does not describe.
      this.logger.error({ msg: 'live message dropped: it does not match the contract', kind, issues: parsed.error.issues.slice(0, 5) });
      return;
    }
    try {
      await this.redis.publish(this.channel, JSON.stringify(parsed.data));
      if (this.failing.delete(kind)) this.logger.log({ msg: 'live publishing works again', kind });
    } catch (error) {
      if (this.failing.has(kind)) return;
      this.failing.add(kind);
      this.logger.warn({
        msg: 'live update dropped: redis publish failed (further failures of this kind are not logged)',
        kind,
        err: (error as Error).message,
      });
    }
  }
}
