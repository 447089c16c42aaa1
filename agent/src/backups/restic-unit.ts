import { escapeExecArgument } from '../commands/transient-unit.js';

/**
 * restic as a transient systemd unit (restic-launcher.ts, when PID 1 is systemd): started by
 * PID 1, outside the agent's sandbox (agent/systemd/xspectre-agent.service has
 * ProtectHome=yes, so the agent itself cannot read /home), with a sandbox of its own: the whole
 * file system read-only but for its cache directory (backup) or the approved restore target,
 * a private /tmp, no privilege gain, idle I/O priority and a lower CPU priority.
 *
 * The repository URL (with the forwarder's one-run credential) and the password file's path
 * reach restic through EnvironmentFile= (a 0600 file that PID 1 reads), never --setenv, whose
 * values anyone can read in the unit's properties (`systemctl show`).
 *
 * `--wait`: systemd-run ends when restic does and exits with restic's exit status; `--collect`
 * unloads the unit then, also a failed one. A run does not outlive the agent: the forwarder
 * restic talks to lives in the agent's process (backup-action.ts reports such a run interrupted).
 */
export const RESTIC_UNIT_PREFIX = 'xspectre-restic-';

/** The steps a run launches restic for; each is its own unit. */
export const RESTIC_STEPS = ['init', 'backup', 'forget', 'check', 'snapshots', 'restore', 'prepare'] as const;
export type ResticStep = (typeof RESTIC_STEPS)[number];

export function resticUnitName(commandId: string, step: ResticStep): string {
  if (!/^[0-9a-f-]{36}$/.test(commandId)) throw new Error(`not a command id: ${commandId.slice(0, 80)}`);
  return `${RESTIC_UNIT_PREFIX}${commandId}-${step}.service`;
}

export interface ResticUnitSpec {
  unit: string;
  description: string;
  /** 0600 file of KEY=value lines (resticEnvironmentFile). */
  environmentFile: string;
  stdoutPath: string;
  stderrPath: string;
  /** The only paths restic may write (ProtectSystem=strict otherwise). */
  readWritePaths: readonly string[];
  /** The restic executable (absolute) and its arguments. */
  command: readonly string[];
}

/** A path systemd takes in a unit property: absolute, no whitespace, quotes, `%`, backslashes or control characters. */
function unitPath(path: string): string {
  if (!path.startsWith('/') || /[\s"'%\\\p{Cc}]/u.test(path)) throw new Error(`not a path a unit property can hold: ${path.slice(0, 200)}`);
  return path;
}

/** The argument array of `systemd-run` for one restic step (never a shell string). */
export function resticSystemdRunArgs(spec: ResticUnitSpec): string[] {
  if (spec.readWritePaths.length === 0) throw new Error('restic needs a writable path (its cache or the restore target)');
  return [
    `--unit=${spec.unit}`,
    `--description=${spec.description.replace(/\p{Cc}/gu, ' ')}`,
    '--quiet',
    '--wait',
    '--collect',
    '--property=Type=exec',
    '--property=IOSchedulingClass=idle',
    '--property=Nice=10',
    `--property=EnvironmentFile=${unitPath(spec.environmentFile)}`,
    `--property=StandardOutput=file:${unitPath(spec.stdoutPath)}`,
    `--property=StandardError=file:${unitPath(spec.stderrPath)}`,
    '--property=ProtectSystem=strict',
    // One property per path: a unit property is a space-separated list.
    ...spec.readWritePaths.map((path) => `--property=ReadWritePaths=${unitPath(path)}`),
    '--property=PrivateTmp=yes',
    '--property=NoNewPrivileges=yes',
    '--',
    ...spec.command.map(escapeExecArgument),
  ];
}

/**
 * `systemd-run` for creating a restore's alternate directory (0700) before restic runs: the
 * agent's own sandbox cannot write there, and ReadWritePaths= needs the directory to exist.
 */
export function prepareTargetArgs(unit: string, target: string): string[] {
  return [
    `--unit=${unit}`,
    '--description=xSPECTRE restore target',
    '--quiet',
    '--wait',
    '--collect',
    '--property=Type=exec',
    '--',
    ...['mkdir', '-p', '-m', '0700', '--', unitPath(target)].map(escapeExecArgument),
  ];
}

/** RESTIC_REPOSITORY, RESTIC_PASSWORD_FILE and RESTIC_CACHE_DIR as an EnvironmentFile= (values checked, not quoted). */
export function resticEnvironmentFile(env: Record<string, string>): string {
  return Object.entries(env)
    .map(([key, value]) => {
      if (!/^[A-Z_][A-Z0-9_]*$/.test(key)) throw new Error(`not an environment variable name: ${key}`);
      // The values are URLs with base64url credentials and paths under the state directory: nothing to quote.
      if (!/^[A-Za-z0-9@+=:,./_~-]*$/.test(value)) throw new Error(`${key} holds characters an environment file would alter`);
      return `${key}=${value}\n`;
    })
    .join('');
}
