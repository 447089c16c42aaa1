import { Module } from '@nestjs/common';
import { DevicesModule } from '../devices/devices.module.js';
import { KeysModule } from '../keys/keys.module.js';
import { ScriptsModule } from '../scripts/scripts.module.js';
import { AgentCommandsController } from './agent-commands.controller.js';
import { CommandWakeups } from './command-wakeups.js';
import { CommandsController } from './commands.controller.js';
import { CommandsService } from './commands.service.js';
import { CommandsStoreModule } from './commands-store.module.js';

/** The signed command queue: operators' routes, the agent's long poll and status reports. */
@Module({
  imports: [DevicesModule, KeysModule, CommandsStoreModule, ScriptsModule],
  controllers: [CommandsController, AgentCommandsController],
  providers: [CommandsService, CommandWakeups],
  exports: [CommandsService],
})
export class CommandsModule {}
