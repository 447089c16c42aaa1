import { Injectable, Logger } from '@nestjs/common';
import type { Command } from '@xspectre/contracts';

/** Asked before a device's poll is answered: may queue commands the device is due (never fails the poll). */
export interface CommandPollHook {
  beforePoll(deviceId: string): Promise<void>;
}

/** Told of every status a device reports for a command, inside the report's transaction. */
export interface CommandReportListener {
  reported(command: Readonly<Command>): Promise<void>;
}

/**
 * Where features above the queue plug in (backups turn a due run into a `backup.run` command at
 * the device's poll, and follow its reports), without the queue knowing them: they register in
 * their own module's onModuleInit.
 */
@Injectable()
export class CommandHooks {
  private readonly logger = new Logger(CommandHooks.name);
  private readonly pollHooks: CommandPollHook[] = [];
  private readonly recoveryPollHooks: CommandPollHook[] = [];
  private readonly reportListeners: CommandReportListener[] = [];

  onPoll(hook: CommandPollHook): void {
    this.pollHooks.push(hook);
  }

  /** Asked before a recovery stick's poll (audience `recovery`) is answered. */
  onRecoveryPoll(hook: CommandPollHook): void {
    this.recoveryPollHooks.push(hook);
  }

  onReport(listener: CommandReportListener): void {
    this.reportListeners.push(listener);
  }

  async beforePoll(deviceId: string, audience: 'agent' | 'recovery' = 'agent'): Promise<void> {
    for (const hook of audience === 'agent' ? this.pollHooks : this.recoveryPollHooks) {
      try {
        await hook.beforePoll(deviceId);
      } catch (error) {
        this.logger.warn({ msg: 'poll hook failed; tried again at the next poll', deviceId, err: (error as Error).message });
      }
    }
  }

  /** A listener's failure fails the report (its transaction rolls back, the agent reports again). */
  async reported(command: Readonly<Command>): Promise<void> {
    for (const listener of this.reportListeners) await listener.reported(command);
  }
}
