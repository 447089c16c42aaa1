import { Module } from '@nestjs/common';
import { CommandsModule } from '../commands/commands.module.js';
import { DeviceEventsModule } from '../device-events/device-events.module.js';
import { DevicesModule } from '../devices/devices.module.js';
import { HubModule } from '../hub/hub.module.js';
import { KeysModule } from '../keys/keys.module.js';
import { SshModule } from '../ssh/ssh.module.js';
import { AgentRecoveryController } from './agent-recovery.controller.js';
import { RecoveryAuthenticator } from './recovery-authenticator.js';
import { RecoveryMediaController } from './recovery-media.controller.js';
import { RecoveryMediaService } from './recovery-media.service.js';
import { RecoveryService } from './recovery.service.js';
import { RecoveryStoreModule } from './recovery-store.module.js';

/**
 * Recovery media and the recovery stick as an agent (issue 16). Exports RecoveryService (recovery
 * mode, registrations) for the disk-image jobs and the authenticator the access guard uses for
 * `@RecoveryAuthenticated()` routes (bound in app.module.ts).
 */
@Module({
  imports: [DevicesModule, HubModule, DeviceEventsModule, KeysModule, CommandsModule, SshModule, RecoveryStoreModule],
  controllers: [RecoveryMediaController, AgentRecoveryController],
  providers: [RecoveryMediaService, RecoveryService, RecoveryAuthenticator],
  exports: [RecoveryService, RecoveryAuthenticator],
})
export class RecoveryModule {}
