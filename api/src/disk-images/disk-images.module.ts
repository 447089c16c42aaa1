import { Module } from '@nestjs/common';
import { BackupsModule } from '../backups/backups.module.js';
import { CommandsModule } from '../commands/commands.module.js';
import { DevicesModule } from '../devices/devices.module.js';
import { RecoveryModule } from '../recovery/recovery.module.js';
import { AgentDiskImagesController } from './agent-disk-images.controller.js';
import { DiskImageJobsService } from './disk-image-jobs.service.js';
import { DiskImagesController } from './disk-images.controller.js';
import { DiskImagesService } from './disk-images.service.js';
import { DiskImagesStoreModule } from './disk-images-store.module.js';
import { RecoveryPort } from './recovery-port.js';

/** Full-disk images (issue 16): the catalog, the recovery stick's image tokens, and the take / restore jobs. */
@Module({
  imports: [DiskImagesStoreModule, DevicesModule, CommandsModule, BackupsModule, RecoveryModule],
  controllers: [DiskImagesController, AgentDiskImagesController],
  providers: [DiskImagesService, DiskImageJobsService, RecoveryPort],
})
export class DiskImagesModule {}
