import { Injectable } from '@nestjs/common';
import { DockerReportSchema, ServiceStateSchema, SystemMetricsSchema, type DeviceTelemetry } from '@xspectre/contracts';
import { z } from 'zod';
import { ConnectivityRepository } from './connectivity.repository.js';
import { withContainerStats } from './container-stats.js';
import { TelemetryRepository } from './telemetry.repository.js';

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

/** A device's newest telemetry and its online/offline history. The caller checks that the device exists. */
@Injectable()
export class TelemetryReadService {
  constructor(
    private readonly telemetry: TelemetryRepository,
    private readonly connectivity: ConnectivityRepository,
  ) {}

  async latest(deviceId: string): Promise<DeviceTelemetry> {
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

  /** When the device went online and offline, newest first. */
  async connectivityEvents(deviceId: string, limit: number, offset: number) {
    const { items, total } = await this.connectivity.list(deviceId, limit, offset);
    return { items: items.map((e) => ({ state: e.state, at: e.at.toISOString() })), total, limit, offset };
  }
}
