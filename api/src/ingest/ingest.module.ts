import { Module } from '@nestjs/common';
import { AlertsStoreModule } from '../alerts/alerts-store.module.js';
import { CommandsModule } from '../commands/commands.module.js';
import { DeviceEventsModule } from '../device-events/device-events.module.js';
import { DevicesModule } from '../devices/devices.module.js';
import { InventoryModule } from '../inventory/inventory.module.js';
import { TelemetryStoreModule } from '../telemetry/telemetry-store.module.js';
import { ScannersStoreModule } from '../scanners/scanners-store.module.js';
import { SshModule } from '../ssh/ssh.module.js';
import { RecoveryModule } from '../recovery/recovery.module.js';
import { AgentDownloadsController } from './agent-downloads.controller.js';
import { AgentController } from './agent.controller.js';
import { AgentSshSetupController } from './agent-ssh-setup.controller.js';
import { CredentialInvalidations } from './credential-invalidations.js';
import { DeviceAuthenticator } from './device-authenticator.js';
import { HeartbeatBatchRepository } from './heartbeat-batch.repository.js';
import { HEARTBEAT_COMMIT_LISTENER } from './heartbeat-commit-listener.js';
import { HeartbeatLiveListener } from './heartbeat-live-listener.js';
import { HeartbeatStorageModule } from './heartbeat-storage.module.js';
import { HeartbeatStore } from './heartbeat-store.js';
import { HeartbeatWriter } from './heartbeat-writer.js';
import { HeartbeatsService } from './heartbeats.service.js';

/**
 * The agent API: device authentication, heartbeats (group-committed), agent downloads, the
 * device's SSH setup.
 * Exports the device authenticator, which the access guard uses for agent routes.
 */
@Module({
  imports: [
    DevicesModule,
    DeviceEventsModule,
    InventoryModule,
    TelemetryStoreModule,
    HeartbeatStorageModule,
    CommandsModule,
    AlertsStoreModule,
    ScannersStoreModule,
    SshModule,
    RecoveryModule,
  ],
  controllers: [AgentController, AgentDownloadsController, AgentSshSetupController],
  providers: [
    DeviceAuthenticator,
    CredentialInvalidations,
    HeartbeatsService,
    HeartbeatWriter,
    { provide: HEARTBEAT_COMMIT_LISTENER, useClass: HeartbeatLiveListener },
    HeartbeatStore,
    HeartbeatBatchRepository,
  ],
  exports: [DeviceAuthenticator],
})
export class IngestModule {}
