import { Inject, Injectable } from '@nestjs/common';
import type { Heartbeat, HeartbeatAck, SystemMetrics } from '@xspectre/contracts';
import { TelemetryRepository } from '../telemetry/telemetry.repository.js';
import { ConnectivityRepository } from '../telemetry/connectivity.repository.js';
import { offlineAfterMs } from '../telemetry/connectivity.js';
import type { AuthenticatedDevice } from '../common/context/request-context.js';
import { sampleTime, toMetricSample } from '../telemetry/metric-sample.js';
import { APP_CONFIG, type AppConfig } from '../config/config.js';
import { AppError } from '../common/errors/app-error.js';
import { HeartbeatsRepository } from './heartbeats.repository.js';

@Injectable()
export class HeartbeatsService {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly heartbeats: HeartbeatsRepository,
    private readonly telemetry: TelemetryRepository,
    private readonly connectivity: ConnectivityRepository,
  ) {}

  /** Idempotent on (device, sequence): a replayed batch is acknowledged again without new rows. */
  async ingest(device: AuthenticatedDevice, batch: Heartbeat[]): Promise<HeartbeatAck> {
    const deviceId = device.id;
    const foreign = batch.find((h) => h.deviceId !== deviceId);
    if (foreign)
      throw new AppError(
        'DEVICE_ID_MISMATCH',
        `heartbeat ${foreign.sequence} names device ${foreign.deviceId}, but the credential is of ${deviceId}`,
      );
    const now = new Date();
    const inserted = await this.heartbeats.insertNew(deviceId, batch, now);
    const accepted = inserted.size;
    const fresh = batch.filter((h) => inserted.has(h.sequence));
    // Only new heartbeats add samples: a replayed batch never writes a row twice.
    await this.telemetry.insertSamples(
      deviceId,
      fresh.filter((h): h is Heartbeat & { metrics: SystemMetrics } => h.metrics !== undefined).map((h) => toMetricSample(h, now)),
      now,
    );
    const newestWithTelemetry = fresh.filter((h) => h.metrics || h.services || h.docker).sort((a, b) => b.sequence - a.sequence)[0];
    if (newestWithTelemetry) {
      await this.telemetry.upsertLatest(deviceId, {
        sequence: newestWithTelemetry.sequence,
        sampledAt: sampleTime(newestWithTelemetry.sentAt, now),
        metrics: newestWithTelemetry.metrics ?? null,
        services: newestWithTelemetry.services ?? null,
        docker: newestWithTelemetry.docker ?? null,
      });
    }
    const newest = batch.reduce((a, b) => (b.sequence > a.sequence ? b : a));
    if (accepted > 0 && (await this.cameBackOnline(device, now))) await this.connectivity.record(deviceId, 'online', now);
    const lastSequence = await this.heartbeats.touchDevice(deviceId, now, newest.sequence, newest.agentVersion);
    return {
      accepted,
      duplicates: batch.length - accepted,
      lastSequence,
      serverTime: now.toISOString(),
      heartbeatIntervalSeconds: this.config.API_AGENT_HEARTBEAT_SECONDS,
    };
  }

  /**
   * Whether this heartbeat ends a silence. Only a device never heard from, or silent longer
   * than the offline window, can be marked anything but online, so only then is the recorded
   * state read: the hot path skips the query.
   */
  private async cameBackOnline(device: AuthenticatedDevice, now: Date): Promise<boolean> {
    const silent =
      !device.lastHeartbeatAt || now.getTime() - device.lastHeartbeatAt.getTime() > offlineAfterMs(this.config.API_AGENT_HEARTBEAT_SECONDS);
    return silent && (await this.connectivity.latestState(device.id)) !== 'online';
  }
}
