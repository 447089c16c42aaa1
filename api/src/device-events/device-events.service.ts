import { Injectable } from '@nestjs/common';
import type { DeviceEventType } from '@xspectre/contracts';
import { AppError } from '../common/errors/app-error.js';
import { DevicesRepository } from '../devices/devices.repository.js';
import { toDeviceEventDto } from '../inventory/inventory.service.js';
import { DeviceEventsRepository } from './device-events.repository.js';

@Injectable()
export class DeviceEventsService {
  constructor(
    private readonly events: DeviceEventsRepository,
    private readonly devices: DevicesRepository,
  ) {}

  async list(deviceId: string, filter: { type?: DeviceEventType; limit: number; offset: number }) {
    if (!(await this.devices.findById(deviceId))) throw new AppError('DEVICE_NOT_FOUND');
    const { items, total } = await this.events.list(deviceId, filter);
    return { items: items.map(toDeviceEventDto), total, limit: filter.limit, offset: filter.offset };
  }
}
