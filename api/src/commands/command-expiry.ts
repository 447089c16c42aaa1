import { Injectable } from '@nestjs/common';
import { CommandsRepository } from './commands.repository.js';

/** Worker: a command its device did not fetch within its 5 minutes becomes `expired`. */
@Injectable()
export class CommandExpiry {
  constructor(private readonly commands: CommandsRepository) {}

  expireOverdue(): Promise<Array<{ id: string; deviceId: string }>> {
    return this.commands.expireOverdue();
  }
}
