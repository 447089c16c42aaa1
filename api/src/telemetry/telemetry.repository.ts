import { Injectable } from '@nestjs/common';
import { Database } from '../db/database.js';
import { DeviceTelemetryEntity } from './device-telemetry.entity.js';

/** Reads the newest telemetry of a device (the heartbeat group commit writes it). */
@Injectable()
export class TelemetryRepository {
  constructor(private readonly db: Database) {}

  findLatest(deviceId: string): Promise<DeviceTelemetryEntity | null> {
    return this.db.manager().getRepository(DeviceTelemetryEntity).findOne({ where: { deviceId } });
  }
}
