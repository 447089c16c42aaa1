import { REPORT_SUMMARY_RETENTION_SECONDS, roleHasPermission, type Command, type CommandAction } from '@xspectre/contracts';
import type { Actor } from '../common/context/request-context.js';

/**
 * Actions whose output is scan results (a report summary): they leave the site only for a holder
 * of scanner_results.view, and only for REPORT_SUMMARY_RETENTION_SECONDS after they arrived.
 */
export const RESULT_BEARING_ACTIONS: readonly CommandAction[] = ['scanner.report-summary'];

/**
 * The command as this operator may read it: a result-bearing command's output is left out for
 * anyone without scanner_results.view, and for everyone once its retention passed (the worker
 * erases it then; this covers the minutes until it runs). Live `command.changed` never carries
 * output (commands.mapper.ts toLiveCommand).
 */
export function redactFor(actor: Pick<Actor, 'role'> | undefined, command: Command, now = Date.now()): Command {
  if (!RESULT_BEARING_ACTIONS.includes(command.action as CommandAction)) return command;
  const expired = command.finishedAt !== null && Date.parse(command.finishedAt) + REPORT_SUMMARY_RETENTION_SECONDS * 1000 <= now;
  if (actor && roleHasPermission(actor.role, 'scanner_results.view') && !expired) return command;
  return { ...command, stdout: null, stderr: null };
}
