import { Module } from '@nestjs/common';
import { DeviceEventsModule } from '../device-events/device-events.module.js';
import { DevicesModule } from '../devices/devices.module.js';
import { DiskHealthRepository } from './disk-health.repository.js';
import { DiskHealthService } from './disk-health.service.js';
import { InventoryController } from './inventory.controller.js';
import { InventoryRepository } from './inventory.repository.js';
import { SshHostKeysService } from './ssh-host-keys.service.js';
import { InventoryService } from './inventory.service.js';

/** Versioned hardware and software inventory, fingerprint checks and the quarantine they start; SMART disk health. */
@Module({
  imports: [DevicesModule, DeviceEventsModule],
  controllers: [InventoryController],
  providers: [InventoryService, InventoryRepository, SshHostKeysService, DiskHealthService, DiskHealthRepository],
  exports: [InventoryService, SshHostKeysService, DiskHealthService],
})
export class InventoryModule {}
