import { Injectable } from '@nestjs/common';
import { LivePublisher } from '../live/live-publisher.js';
import type { CommandEntity } from './command.entity.js';
import { toLiveCommand } from './commands.mapper.js';
import { CommandsRepository } from './commands.repository.js';
import { RESULT_BEARING_ACTIONS } from './result-bearing.js';

/**
 * Worker: a command its device did not fetch within its 5 minutes becomes `expired`; the output
 * of result-bearing commands (report summaries) is erased once REPORT_SUMMARY_RETENTION_SECONDS passed.
 */
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

  /** Erases report summaries' output that arrived before `before`; the command ids. */
  purgeResultOutput(before: Date): Promise<string[]> {
    return this.commands.eraseOutput(RESULT_BEARING_ACTIONS, before);
  }
}
