import type { CommandStatus, CommandStatusReport } from './commands.js';

type Reported = CommandStatusReport['status'];

/**
 * Which agent report may move a command from which status. `expired` accepts the agent's
 * answer too: the agent checked the expiry itself (with the server's clock from its acks), so a
 * command it took just before expiry and reports late really ran. A final status repeated is an
 * idempotent retry (its answer was lost), not a change.
 */
export const COMMAND_TRANSITIONS: Record<CommandStatus, readonly Reported[]> = {
  queued: ['running', 'succeeded', 'failed', 'rejected'],
  delivered: ['running', 'succeeded', 'failed', 'rejected'],
  expired: ['running', 'succeeded', 'failed', 'rejected'],
  running: ['succeeded', 'failed', 'interrupted'],
  succeeded: [],
  failed: [],
  rejected: [],
  interrupted: [],
};

export type CommandTransitionDecision = 'apply' | 'repeat' | 'refuse';

export function decideCommandTransition(from: CommandStatus, to: Reported): CommandTransitionDecision {
  if (COMMAND_TRANSITIONS[from].includes(to)) return 'apply';
  return from === to ? 'repeat' : 'refuse';
}
