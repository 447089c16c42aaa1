import { Injectable } from '@nestjs/common';
import type { DeviceTelemetry } from '@xspectre/contracts';
import { AppError } from '../common/errors/app-error.js';
import { DevicesRepository } from '../devices/devices.repository.js';
import { TelemetryRepository } from './telemetry.repository.js';
import { withContainerStats } from './container-stats.js';

@Injectable()
export class DeviceTelemetryService {
  constructor(
    private readonly telemetry: TelemetryRepository,
    private readonly devices: DevicesRepository,
  ) {}

  async latest(deviceId: string): Promise<DeviceTelemetry> {
    if (!(await this.devices.findById(deviceId))) throw new AppError('DEVICE_NOT_FOUND');
    const row = await this.telemetry.findLatest(deviceId);
    return {
      deviceId,
      sequence: row ? Number(row.sequence) : null,
      sampledAt: row?.sampledAt.toISOString() ?? null,
      metrics: row?.metrics ?? null,
      services: row?.services ?? null,
      docker: withContainerStats(row?.docker ?? null, row?.containerStats ?? null),
    };
  }
}
