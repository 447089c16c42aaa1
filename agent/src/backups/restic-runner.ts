import type { BackupTokenOp } from '@xspectre/contracts';
import { backupArgs, forgetArgs, initArgs } from './restic-args.js';
import { parseBackupLine, type BackupProgress } from './restic-progress.js';
import { RepositoryForwarder, type RepositoryToken } from './repository-forwarder.js';
import { processLauncher, type ResticLauncher, type ResticResult } from './restic-launcher.js';
import { RESTIC_STEPS, type ResticStep } from './restic-unit.js';

export interface ResticRunOptions {
  restic: string;
  deviceId: string;
  /** The device's repository on the backup server (the API's `repositoryUrl`). */
  repositoryUrl: string;
  passwordFile: string;
  cacheDir: string;
  fetchToken: (op: BackupTokenOp) => Promise<RepositoryToken>;
  /** Where restic runs (restic-launcher.ts); default: a child process of the agent. */
  launcher?: ResticLauncher;
  /** The command the run carries out: names its transient units. */
  commandId?: string;
  /** Stops restic (agent shutdown). */
  signal?: AbortSignal;
}

export type { ResticResult } from './restic-launcher.js';

const NO_COMMAND = '00000000-0000-0000-0000-000000000000';

function stepOf(args: readonly string[]): ResticStep {
  const step = args[0] as ResticStep;
  if (!RESTIC_STEPS.includes(step)) throw new Error(`not a restic step this agent runs: ${String(args[0]).slice(0, 40)}`);
  return step;
}

/**
 * Runs one restic command against the repository through a RepositoryForwarder with tokens of
 * `op`, streaming stdout lines to `onLine`. Arguments as an array; repository and password only
 * in restic's environment. `readWritePaths`: what a sandboxed restic may write (default: its cache).
 */
export async function runRestic(
  options: ResticRunOptions,
  op: BackupTokenOp,
  args: string[],
  onLine?: (line: string) => void,
  readWritePaths: readonly string[] = [options.cacheDir],
  maxLine?: number,
): Promise<ResticResult> {
  // Shutdown between two steps: the next one is not started.
  if (options.signal?.aborted) return { code: null, stderrTail: 'not started: the agent is stopping' };
  const forwarder = new RepositoryForwarder({
    deviceId: options.deviceId,
    upstream: new URL(options.repositoryUrl),
    fetchToken: () => options.fetchToken(op),
  });
  const repository = await forwarder.start();
  try {
    const launcher = options.launcher ?? processLauncher(options.restic);
    return await launcher.run({
      commandId: options.commandId ?? NO_COMMAND,
      step: stepOf(args),
      args,
      env: { RESTIC_REPOSITORY: repository, RESTIC_PASSWORD_FILE: options.passwordFile, RESTIC_CACHE_DIR: options.cacheDir },
      readWritePaths,
      ...(onLine ? { onLine } : {}),
      ...(maxLine ? { maxLine } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
  } finally {
    await forwarder.stop();
  }
}

export interface BackupOutcome {
  ok: boolean;
  /** The snapshot the backup made (null when it failed before). */
  summary: Extract<BackupProgress, { type: 'summary' }> | null;
  /** Files restic could not read (it still makes the snapshot). */
  unreadable: number;
  /** Which step failed, with restic's own words. */
  error: string | null;
}

/**
 * The nightly run: init when the repository is new, backup (append token), then forget and
 * prune by the policy (prune token). A repository that exists already answers init with
 * "already"; that is not an error.
 */
export async function runNightlyBackup(
  options: ResticRunOptions,
  policy: { paths: readonly string[]; excludes: readonly string[]; keepDaily: number; keepWeekly: number; tags: readonly string[] },
  onProgress: (progress: BackupProgress) => void,
  onPhase: (phase: 'init' | 'backup' | 'forget') => void = () => undefined,
): Promise<BackupOutcome> {
  const repo = { cacheDir: options.cacheDir };
  onPhase('init');
  const init = await runRestic(options, 'append', initArgs(repo));
  if (init.code !== 0 && !/already (exists|initialized)/i.test(init.stderrTail)) {
    return { ok: false, summary: null, unreadable: 0, error: `init: ${lastLine(init.stderrTail)}` };
  }
  let summary: BackupOutcome['summary'] = null;
  let unreadable = 0;
  onPhase('backup');
  const backup = await runRestic(options, 'append', backupArgs(repo, { ...policy, host: options.deviceId }), (line) => {
    const progress = parseBackupLine(line);
    if (!progress) return;
    if (progress.type === 'summary') summary = progress;
    if (progress.type === 'error') unreadable += 1;
    onProgress(progress);
  });
  // Exit 3: the snapshot was made but some files could not be read (restic 0.14 and later).
  if ((backup.code !== 0 && backup.code !== 3) || !summary) {
    return { ok: false, summary, unreadable, error: `backup: ${lastLine(backup.stderrTail)}` };
  }
  onPhase('forget');
  const forget = await runRestic(
    options,
    'prune',
    forgetArgs(repo, { host: options.deviceId, keepDaily: policy.keepDaily, keepWeekly: policy.keepWeekly }),
  );
  if (forget.code !== 0) return { ok: false, summary, unreadable, error: `forget: ${lastLine(forget.stderrTail)}` };
  return { ok: true, summary, unreadable, error: null };
}

/** restic's own last line (its error), bounded: what a failed step reports. */
export function lastLine(text: string): string {
  const lines = text.trim().split('\n');
  return (
    (lines.at(-1) ?? '')
      .replace(/\p{Cc}/gu, ' ')
      .trim()
      .slice(0, 500) || 'restic failed without a message'
  );
}
