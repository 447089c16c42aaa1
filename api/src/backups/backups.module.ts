import { Module } from '@nestjs/common';
import { CommandsModule } from '../commands/commands.module.js';
import { DeviceEventsModule } from '../device-events/device-events.module.js';
import { DevicesModule } from '../devices/devices.module.js';
import { KeysModule } from '../keys/keys.module.js';
import { OrganizationsModule } from '../organizations/organizations.module.js';
import { AgentBackupsController } from './agent-backups.controller.js';
import { AgentBackupTransferController } from './agent-backup-transfer.controller.js';
import { BackupEscrowController } from './backup-escrow.controller.js';
import { BackupEscrowRepository } from './backup-escrow.repository.js';
import { BackupPoliciesRepository } from './backup-policies.repository.js';
import { BackupCapacityRepository } from './backup-capacity.repository.js';
import { BackupFleetRepository } from './backup-fleet.repository.js';
import { BackupCapacityService } from './backup-capacity.service.js';
import { BackupCatalogService } from './backup-catalog.service.js';
import { BackupProgressService } from './backup-progress.service.js';
import { BackupSnapshotsRepository } from './backup-snapshots.repository.js';
import { BackupCommandsService } from './backup-commands.service.js';
import { BackupEscrowService } from './backup-escrow.service.js';
import { BackupServerController } from './backup-server.controller.js';
import { BackupTokensService } from './backup-tokens.service.js';
import { BackupsController } from './backups.controller.js';
import { BackupsService } from './backups.service.js';
import { BackupsStoreModule } from './backups-store.module.js';

/** File backups: policies, runs, and repository tokens for the backup server (backup-server/). */
@Module({
  imports: [BackupsStoreModule, DevicesModule, OrganizationsModule, KeysModule, CommandsModule, DeviceEventsModule],
  controllers: [BackupsController, AgentBackupsController, BackupServerController, BackupEscrowController, AgentBackupTransferController],
  providers: [
    BackupPoliciesRepository,
    BackupCapacityRepository,
    BackupFleetRepository,
    BackupCommandsService,
    BackupEscrowRepository,
    BackupEscrowService,
    BackupsService,
    BackupTokensService,
    BackupCapacityService,
    BackupCatalogService,
    BackupProgressService,
    BackupSnapshotsRepository,
  ],
  exports: [BackupsService, BackupTokensService, BackupCapacityService],
})
export class BackupsModule {}
