import { Injectable } from '@nestjs/common';
import { LivePublisher } from '../live/live-publisher.js';
import type { CommandEntity } from './command.entity.js';
import { toLiveCommand } from './commands.mapper.js';
import { CommandsRepository } from './commands.repository.js';

/** Worker: a command its device did not fetch within its 5 minutes becomes `expired`. */
@Injectable()
export class CommandExpiry {
  constructor(
    private readonly commands: CommandsRepository,
    private readonly live: LivePublisher,
  ) {}

  /** Expires and announces them: the update is one statement, committed when it returns. */
  async expireOverdue(): Promise<CommandEntity[]> {
    const expired = await this.commands.expireOverdue();
    for (const command of expired) await this.live.commandChanged(toLiveCommand(command));
    return expired;
  }
}
