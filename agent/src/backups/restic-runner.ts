import { spawn } from 'node:child_process';
import type { BackupTokenOp } from '@xspectre/contracts';
import { backupArgs, forgetArgs, initArgs } from './restic-args.js';
import { LineSplitter, parseBackupLine, type BackupProgress } from './restic-progress.js';
import { RepositoryForwarder, type RepositoryToken } from './repository-forwarder.js';

export interface ResticRunOptions {
  restic: string;
  deviceId: string;
  /** The device's repository on the backup server (the API's `repositoryUrl`). */
  repositoryUrl: string;
  passwordFile: string;
  cacheDir: string;
  fetchToken: (op: BackupTokenOp) => Promise<RepositoryToken>;
}

export interface ResticResult {
  code: number | null;
  /** The last 16 KiB of restic's stderr: what it said went wrong. */
  stderrTail: string;
}

const STDERR_TAIL = 16 * 1024;

/**
 * Runs one restic command against the device's repository through a RepositoryForwarder with
 * tokens of `op`, streaming stdout lines to `onLine`. Arguments as an array; repository and
 * password only in restic's environment.
 */
export async function runRestic(
  options: ResticRunOptions,
  op: BackupTokenOp,
  args: string[],
  onLine?: (line: string) => void,
): Promise<ResticResult> {
  const forwarder = new RepositoryForwarder({
    deviceId: options.deviceId,
    upstream: new URL(options.repositoryUrl),
    fetchToken: () => options.fetchToken(op),
  });
  const repository = await forwarder.start();
  try {
    return await new Promise<ResticResult>((resolve) => {
      const child = spawn(options.restic, args, {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: {
          PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
          HOME: process.env.HOME ?? '/root',
          LC_ALL: 'C',
          RESTIC_REPOSITORY: repository,
          RESTIC_PASSWORD_FILE: options.passwordFile,
          RESTIC_CACHE_DIR: options.cacheDir,
        },
      });
      const lines = new LineSplitter();
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => lines.push(chunk, (line) => onLine?.(line)));
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
        stderr = (stderr + chunk).slice(-STDERR_TAIL);
      });
      child.on('error', (error: NodeJS.ErrnoException) =>
        resolve({ code: null, stderrTail: error.code === 'ENOENT' ? `${options.restic} is not installed` : error.message }),
      );
      child.on('close', (code) => resolve({ code, stderrTail: stderr }));
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
): Promise<BackupOutcome> {
  const repo = { cacheDir: options.cacheDir };
  const init = await runRestic(options, 'append', initArgs(repo));
  if (init.code !== 0 && !/already (exists|initialized)/i.test(init.stderrTail)) {
    return { ok: false, summary: null, unreadable: 0, error: `init: ${lastLine(init.stderrTail)}` };
  }
  let summary: BackupOutcome['summary'] = null;
  let unreadable = 0;
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
  const forget = await runRestic(
    options,
    'prune',
    forgetArgs(repo, { host: options.deviceId, keepDaily: policy.keepDaily, keepWeekly: policy.keepWeekly }),
  );
  if (forget.code !== 0) return { ok: false, summary, unreadable, error: `forget: ${lastLine(forget.stderrTail)}` };
  return { ok: true, summary, unreadable, error: null };
}

function lastLine(text: string): string {
  const lines = text.trim().split('\n');
  return (lines.at(-1) ?? '').slice(0, 500) || 'restic failed without a message';
}
