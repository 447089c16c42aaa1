import type { FinalResult } from './command-journal.js';

/**
 * Actions that change the system run as transient systemd units (systemd-run), started by
 * PID 1: outside the agent's sandbox and cgroup (agent/systemd/xspectre-agent.service), so a
 * restart of the agent neither kills them nor loses their result. The unit is named after the
 * command: a second start of the same command fails ("unit already exists"), which is the
 * at-most-once guarantee beside the command journal.
 *
 * - RemainAfterExit=yes keeps a finished unit loaded (active/exited, or failed) so its Result and
 *   exit status can be read, also by an agent that restarted meanwhile; the agent stops it (and
 *   resets a failed one) once the result is in its journal. Not --collect: a failed unit would
 *   be unloaded at once, and its result lost.
 * - No --wait: with RemainAfterExit the unit stays active after its process ends, so the agent
 *   polls `systemctl show` instead.
 * - Output goes to files in the state directory (StandardOutput=file:), which PID 1 opens, so
 *   the output of a unit that finished while the agent was down is still there.
 */
export const UNIT_PREFIX = 'xspectre-cmd-';

export function transientUnitName(commandId: string): string {
  return `${UNIT_PREFIX}${commandId}.service`;
}

/** Actions that run in a transient unit (and so need systemd). */
export const UNIT_ACTIONS: ReadonlySet<string> = new Set([
  'reboot',
  'service.restart',
  'service.start',
  'service.stop',
  'script.run',
  // The swap, restart and watch of an agent update (agent-update.ts).
  'agent.update',
  // `xspectre-agent recovery-boot`: arms the one-time boot to the stick, then reboots (recovery-boot.ts).
  'reboot-to-recovery',
]);

/** The command the transient unit runs for an action, or null when the action needs no unit. */
export function unitCommand(action: string, params: Record<string, unknown>): string[] | null {
  switch (action) {
    case 'reboot':
      return ['systemctl', 'reboot'];
    case 'service.restart':
    case 'service.start':
    case 'service.stop':
      // `--` so that a unit name can never be read as an option (the contract forbids a leading dash anyway).
      return ['systemctl', action.slice('service.'.length), '--', String(params.unit)];
    default:
      return null;
  }
}

export interface SystemdRunSpec {
  commandId: string;
  action: string;
  /** Absolute paths PID 1 writes the unit's stdout and stderr to. */
  stdoutPath: string;
  stderrPath: string;
  command: readonly string[];
  /** RuntimeMaxSec: PID 1 stops the unit (Result=timeout) when it runs longer (a script's timeout). */
  runtimeMaxSec?: number;
}

/**
 * PID 1 expands `$VAR` and `${VAR}` in a transient unit's command line as in ExecStart=
 * (systemd-run(1): the default of --expand-environment, which systemd 252 cannot switch off);
 * `$$` is a literal `$`. Every argument is escaped so that it arrives as given.
 */
export function escapeExecArgument(arg: string): string {
  return arg.replaceAll('$', '$$$$');
}

/** The argument array of `systemd-run` (never a shell string). */
export function systemdRunArgs(spec: SystemdRunSpec): string[] {
  for (const path of [spec.stdoutPath, spec.stderrPath]) {
    if (!path.startsWith('/') || /[\s\p{Cc}]/u.test(path)) throw new Error(`output path must be absolute, without spaces: ${path}`);
  }
  return [
    `--unit=${transientUnitName(spec.commandId)}`,
    `--description=xSPECTRE command ${spec.commandId} (${spec.action})`,
    '--quiet',
    '--property=RemainAfterExit=yes',
    `--property=StandardOutput=file:${spec.stdoutPath}`,
    `--property=StandardError=file:${spec.stderrPath}`,
    ...(spec.runtimeMaxSec === undefined ? [] : [`--property=RuntimeMaxSec=${Math.trunc(spec.runtimeMaxSec)}`]),
    '--',
    ...spec.command.map(escapeExecArgument),
  ];
}

export const SHOW_PROPERTIES = ['LoadState', 'ActiveState', 'SubState', 'Result', 'ExecMainCode', 'ExecMainStatus'] as const;

export function showUnitArgs(unit: string): string[] {
  return ['show', '--no-pager', '-p', SHOW_PROPERTIES.join(','), '--', unit];
}

/** `systemctl stop` then `reset-failed`: the transient unit is unloaded (a failed one only after the reset). */
export function cleanupArgs(unit: string): string[][] {
  return [
    ['stop', '--', unit],
    ['reset-failed', '--', unit],
  ];
}

export type UnitShow = Partial<Record<(typeof SHOW_PROPERTIES)[number], string>>;

export function parseUnitShow(text: string): UnitShow {
  const show: UnitShow = {};
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    const key = line.slice(0, eq) as (typeof SHOW_PROPERTIES)[number];
    if ((SHOW_PROPERTIES as readonly string[]).includes(key)) show[key] = line.slice(eq + 1).trim();
  }
  return show;
}

/** The outcome, without output (read from the files): exit code as a shell would show it (128 + signal when killed). */
export type UnitOutcome = { state: 'gone' } | { state: 'running' } | { state: 'done'; result: FinalResult };

// siginfo codes of ExecMainCode: CLD_EXITED 1, CLD_KILLED 2, CLD_DUMPED 3; 0 = no process has ended.
const CLD_EXITED = '1';

export function unitOutcome(show: UnitShow): UnitOutcome {
  const { LoadState: load, ActiveState: active, SubState: sub, Result: result, ExecMainCode: code, ExecMainStatus: status } = show;
  if (!load || load === 'not-found') return { state: 'gone' };
  if (active === 'activating' || active === 'deactivating' || active === 'reloading') return { state: 'running' };
  if (active === 'active' && sub !== 'exited') return { state: 'running' };
  if (!code || code === '0') return { state: 'gone' }; // loaded, but its process never ended: nothing to report
  const number = Number(status ?? NaN);
  const exitCode = Number.isInteger(number) ? (code === CLD_EXITED ? number : 128 + number) : undefined;
  const ok = code === CLD_EXITED && number === 0 && (result === undefined || result === 'success');
  if (ok) return { state: 'done', result: { status: 'succeeded', exitCode: 0 } };
  return {
    state: 'done',
    result: {
      status: 'failed',
      ...(exitCode === undefined ? {} : { exitCode }),
      reason: `the transient unit ended: result ${result ?? 'unknown'}${code === CLD_EXITED ? `, exit status ${status}` : `, signal ${status}`}`,
    },
  };
}
