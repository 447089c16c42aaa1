import { Module } from '@nestjs/common';
import { DevicesModule } from '../devices/devices.module.js';
import { KeysModule } from '../keys/keys.module.js';
import { AgentBuildsModule } from '../agent-builds/agent-builds.module.js';
import { ScriptsModule } from '../scripts/scripts.module.js';
import { AgentCommandsController } from './agent-commands.controller.js';
import { CommandHooks } from './command-hooks.js';
import { CommandWakeups } from './command-wakeups.js';
import { CommandsController } from './commands.controller.js';
import { CommandsService } from './commands.service.js';
import { CommandsStoreModule } from './commands-store.module.js';
import { AgentCredentialController } from './agent-credential.controller.js';
import { CredentialRotationService } from './credential-rotation.service.js';
import { KeyAnnouncements } from './key-announcements.service.js';
import { KeyRotationController } from './key-rotation.controller.js';

/** The signed command queue: operators' routes, the agent's long poll and status reports. */
@Module({
  imports: [DevicesModule, KeysModule, CommandsStoreModule, ScriptsModule, AgentBuildsModule],
  controllers: [CommandsController, AgentCommandsController, AgentCredentialController, KeyRotationController],
  providers: [CommandsService, CommandWakeups, KeyAnnouncements, CredentialRotationService, CommandHooks],
  exports: [CommandsService, CommandHooks],
})
export class CommandsModule {}
