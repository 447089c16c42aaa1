import { Injectable } from '@nestjs/common';
import type { DeviceTelemetry, MetricsQuery } from '@xspectre/contracts';
import { DevicesService } from '../devices/devices.service.js';
import { MetricsService } from './metrics.service.js';
import { TelemetryReadService } from './telemetry-read.service.js';

/** The telemetry routes of a device: each answers DEVICE_NOT_FOUND for an unknown device. */
@Injectable()
export class DeviceTelemetryService {
  constructor(
    private readonly devices: DevicesService,
    private readonly reads: TelemetryReadService,
    private readonly metricsService: MetricsService,
  ) {}

  async latest(deviceId: string): Promise<DeviceTelemetry> {
    await this.devices.requireDevice(deviceId);
    return this.reads.latest(deviceId);
  }

  async metrics(deviceId: string, query: MetricsQuery) {
    // Read side by side: an unknown device has no samples, and still answers DEVICE_NOT_FOUND.
    const [, series] = await Promise.all([this.devices.requireDevice(deviceId), this.metricsService.query(deviceId, query)]);
    return series;
  }

  async connectivityEvents(deviceId: string, limit: number, offset: number) {
    await this.devices.requireDevice(deviceId);
    return this.reads.connectivityEvents(deviceId, limit, offset);
  }
}
