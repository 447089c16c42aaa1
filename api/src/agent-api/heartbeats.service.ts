import { Inject, Injectable } from '@nestjs/common';
import type { Heartbeat, HeartbeatAck } from '@xspectre/contracts';
import { APP_CONFIG, type AppConfig } from '../config/config.js';
import { AppError } from '../common/errors/app-error.js';
import { HeartbeatsRepository } from './heartbeats.repository.js';

@Injectable()
export class HeartbeatsService {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly heartbeats: HeartbeatsRepository,
  ) {}

  /** Idempotent on (device, sequence): a replayed batch is acknowledged again without new rows. */
  async ingest(deviceId: string, batch: Heartbeat[]): Promise<HeartbeatAck> {
    const foreign = batch.find((h) => h.deviceId !== deviceId);
    if (foreign)
      throw new AppError(
        'DEVICE_ID_MISMATCH',
        `heartbeat ${foreign.sequence} names device ${foreign.deviceId}, but the credential is of ${deviceId}`,
      );
    const now = new Date();
    const accepted = await this.heartbeats.insertNew(deviceId, batch, now);
    const newest = batch.reduce((a, b) => (b.sequence > a.sequence ? b : a));
    const lastSequence = await this.heartbeats.touchDevice(deviceId, now, newest.sequence, newest.agentVersion);
    return {
      accepted,
      duplicates: batch.length - accepted,
      lastSequence,
      serverTime: now.toISOString(),
      heartbeatIntervalSeconds: this.config.API_AGENT_HEARTBEAT_SECONDS,
    };
  }
}
