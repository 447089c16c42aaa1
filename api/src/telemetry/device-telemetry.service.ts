import { Injectable } from '@nestjs/common';
import { DockerReportSchema, ServiceStateSchema, SystemMetricsSchema, type DeviceTelemetry } from '@xspectre/contracts';
import { z } from 'zod';
import { AppError } from '../common/errors/app-error.js';
import { DevicesRepository } from '../devices/devices.repository.js';
import { TelemetryRepository } from './telemetry.repository.js';
import { withContainerStats } from './container-stats.js';

const ServicesSchema = z.array(ServiceStateSchema);

/**
 * A stored document as the contract allows it now, else null: rows written before a bound was
 * added must not make the device page fail (the response contract would answer 500).
 */
function current<T>(schema: z.ZodType<T>, document: unknown): T | null {
  if (document === null || document === undefined) return null;
  const parsed = schema.safeParse(document);
  return parsed.success ? parsed.data : null;
}

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
      metrics: current(SystemMetricsSchema, row?.metrics),
      services: current(ServicesSchema, row?.services),
      docker: current(DockerReportSchema, withContainerStats(row?.docker ?? null, row?.containerStats ?? null)),
    };
  }
}
