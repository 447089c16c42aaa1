import { Module } from '@nestjs/common';
import { CommandExpiry } from './command-expiry.js';
import { CommandsRepository } from './commands.repository.js';

/**
 * The queue's storage without routes or signing: the worker imports it to expire commands
 * (CommandsModule needs the devices and the hub, which the worker must not start). The
 * repository is exported for CommandsModule in this folder only (api/lint/layers.mjs keeps
 * other folders from importing its class).
 */
@Module({ providers: [CommandsRepository, CommandExpiry], exports: [CommandsRepository, CommandExpiry] })
export class CommandsStoreModule {}
