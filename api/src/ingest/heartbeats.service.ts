import { Inject, Injectable } from '@nestjs/common';
import type { Heartbeat, HeartbeatAck } from '@xspectre/contracts';
import type { AuthenticatedDevice } from '../common/context/request-context.js';
import { APP_CONFIG, type AppConfig } from '../config/config.js';
import { AppError } from '../common/errors/app-error.js';
import { CommandsService } from '../commands/commands.service.js';
import { HeartbeatWriter } from './heartbeat-writer.js';

@Injectable()
export class HeartbeatsService {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly writer: HeartbeatWriter,
    private readonly commands: CommandsService,
  ) {}

  /** Idempotent on (device, sequence): a replayed batch is acknowledged again without new rows. */
  async ingest(device: AuthenticatedDevice, heartbeats: Heartbeat[]): Promise<HeartbeatAck> {
    const foreign = heartbeats.find((h) => h.deviceId !== device.id);
    if (foreign)
      throw new AppError(
        'DEVICE_ID_MISMATCH',
        `heartbeat ${foreign.sequence} names device ${foreign.deviceId}, but the credential is of ${device.id}`,
      );
    const outcome = await this.writer.submit({ deviceId: device.id, heartbeats });
    // The device was revoked or retired after its credential was checked.
    if (!outcome) throw new AppError('DEVICE_AUTH_INVALID');
    return {
      ...outcome,
      serverTime: new Date().toISOString(),
      heartbeatIntervalSeconds: this.config.API_AGENT_HEARTBEAT_SECONDS,
      pendingCommands: await this.commands.pendingCount(device.id),
    };
  }
}
