import { constants } from 'node:fs';
import { access, readFile, rm } from 'node:fs/promises';
import { delimiter, isAbsolute, join } from 'node:path';
import { spawn } from 'node:child_process';
import {
  BACKUP_CHECK_READ_DATA_SUBSET,
  BackupRestoreParamsSchema,
  BackupRunParamsSchema,
  type BackupRestoreParams,
  type BackupRunParams,
  type BackupRunResult,
} from '@xspectre/contracts';
import { ensureDirectory, writeFileAtomic } from '../atomic-file.js';
import { errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import type { FinalResult, JournalEntry } from '../commands/command-journal.js';
import type { BackupApi } from './backup-api.js';
import { progressReport, ProgressThrottle, type BackupPhase } from './backup-progress.js';
import { parentMetadataOnlyErrors, restoreWritablePaths, resultLine, runSummary, snapshotListing } from './backup-result.js';
import { decryptWithIdentity, encryptToRecipient } from './escrow.js';
import { ensureRepositoryPassword } from './repository-password.js';
import { checkArgs, restoreArgs, snapshotsArgs } from './restic-args.js';
import { processLauncher, systemdLauncher, type ResticLauncher } from './restic-launcher.js';
import { lastLine, runNightlyBackup, runRestic, type ResticRunOptions } from './restic-runner.js';
import { RESTIC_STEPS, resticUnitName } from './restic-unit.js';
import { ensureTransferKey } from './transfer-key.js';

export const BACKUP_RUN = 'backup.run';
export const BACKUP_RESTORE = 'backup.restore';
export const BACKUP_ACTIONS: ReadonlySet<string> = new Set([BACKUP_RUN, BACKUP_RESTORE]);

/** Files under the backups state directory (`<state dir>/backups`, 0700). */
export const PASSWORD_FILE = 'restic-password';
const CACHE_DIR = 'cache';
const RUN_DIR = 'run';
/** `restic snapshots --json` prints one JSON array: a long line. */
const SNAPSHOTS_MAX_LINE = 16 * 1024 * 1024;
const SNAPSHOT_TAG = 'xspectre';

export interface BackupActionsOptions {
  deviceId: string;
  /** Absolute: `<state dir>/backups`. */
  dir: string;
  /** A configured restic executable; else `restic` on PATH. */
  restic?: string;
  api: BackupApi;
  log: Logger;
  /** sd_booted(): restic runs as a transient unit then, else as a child process. */
  systemdRunning: () => Promise<boolean>;
  progressIntervalMs?: number;
}

/**
 * `backup.run` and `backup.restore`, carried out in the agent's process: restic runs in a
 * transient unit or a child process (restic-launcher.ts), and talks to the backup server
 * through a forwarder in this process (repository-forwarder.ts) that fetches the run's tokens
 * from the API. A run therefore never outlives the agent: after a restart it is reported
 * interrupted (resume), never started again (command-journal.ts).
 */
export class BackupActions {
  constructor(private readonly options: BackupActionsOptions) {}

  /** Why this device cannot run backups (null: it can). */
  async unsupported(): Promise<string | null> {
    if (await this.resticPath()) return null;
    return this.options.restic
      ? `restic is not installed: ${this.options.restic} is not an executable file`
      : 'restic is not installed (no restic executable on PATH)';
  }

  async run(entry: JournalEntry, signal: AbortSignal): Promise<FinalResult | undefined> {
    try {
      const result = entry.action === BACKUP_RUN ? await this.backup(entry, signal) : await this.restore(entry, signal);
      return signal.aborted ? undefined : result;
    } catch (error) {
      if (signal.aborted) return undefined;
      return { status: 'failed', exitCode: 1, reason: `${entry.action}: ${errorMessage(error)}`.slice(0, 500) };
    }
  }

  /** A run the agent stopped during: its leftover restic units are stopped, its files removed; it is not started again. */
  async resume(entry: JournalEntry, systemd: boolean): Promise<FinalResult> {
    if (systemd) {
      const units = RESTIC_STEPS.map((step) => resticUnitName(entry.commandId, step));
      await new Promise<void>((resolve) => {
        const child = spawn('systemctl', ['stop', '--', ...units], { stdio: 'ignore' });
        child.on('error', () => resolve());
        child.on('close', () => resolve());
      });
    }
    await this.removeRunFiles(entry.commandId);
    return {
      status: 'interrupted',
      reason:
        entry.action === BACKUP_RESTORE
          ? 'the agent stopped during the restore (its connection to the backup server ended with it): restore again'
          : 'the agent stopped during the backup run (its connection to the backup server ended with it): the run is not finished, the next one makes the snapshot',
    };
  }

  private get paths() {
    const dir = this.options.dir;
    return { passwordFile: join(dir, PASSWORD_FILE), cacheDir: join(dir, CACHE_DIR), runDir: join(dir, RUN_DIR) };
  }

  private async resticPath(): Promise<string | null> {
    const executable = (path: string) =>
      access(path, constants.X_OK).then(
        () => true,
        () => false,
      );
    if (this.options.restic) return isAbsolute(this.options.restic) && (await executable(this.options.restic)) ? this.options.restic : null;
    const dirs = (process.env.PATH ?? '').split(delimiter).concat(['/usr/local/bin', '/usr/bin', '/bin']);
    for (const dir of dirs) if (isAbsolute(dir) && (await executable(join(dir, 'restic')))) return join(dir, 'restic');
    return null;
  }

  private async resticOptions(
    entry: JournalEntry,
    signal: AbortSignal,
    repo: { deviceId: string; repositoryUrl: string; passwordFile: string; runId: string },
  ): Promise<ResticRunOptions & { launcher: ResticLauncher }> {
    const restic = await this.resticPath();
    if (!restic) throw new Error((await this.unsupported()) ?? 'restic is not installed');
    const { cacheDir, runDir } = this.paths;
    await ensureDirectory(this.options.dir);
    await ensureDirectory(cacheDir);
    const launcher: ResticLauncher = (await this.options.systemdRunning()) ? systemdLauncher(restic, runDir) : processLauncher(restic);
    return {
      restic,
      deviceId: repo.deviceId,
      repositoryUrl: repo.repositoryUrl,
      passwordFile: repo.passwordFile,
      cacheDir,
      fetchToken: (op) => this.options.api.token(repo.runId, op),
      launcher,
      commandId: entry.commandId,
      signal,
    };
  }

  private throttle(runId: string): ProgressThrottle {
    return new ProgressThrottle((progress) => this.options.api.progress({ runId, progress }), this.options.progressIntervalMs);
  }

  private async backup(entry: JournalEntry, signal: AbortSignal): Promise<FinalResult> {
    const parsed = BackupRunParamsSchema.safeParse(entry.params);
    if (!parsed.success) return { status: 'failed', exitCode: 2, reason: 'backup.run: the parameters do not follow the contract' };
    const params: BackupRunParams = parsed.data;
    const { passwordFile } = this.paths;
    await ensureRepositoryPassword(passwordFile);
    const options = await this.resticOptions(entry, signal, { ...params, deviceId: this.options.deviceId, passwordFile });
    const progress = this.throttle(params.runId);
    const log: string[] = [];
    let phase: BackupPhase = 'init';
    const onPhase = (next: BackupPhase) => {
      phase = next;
      progress.update(progressReport(next));
    };
    try {
      const outcome = await runNightlyBackup(
        options,
        {
          paths: params.paths,
          excludes: params.excludes,
          keepDaily: params.keepDaily,
          keepWeekly: params.keepWeekly,
          tags: [SNAPSHOT_TAG],
        },
        (line) => {
          if (line.type === 'status') progress.update(progressReport(phase, line));
        },
        onPhase,
      );
      if (signal.aborted) return { status: 'interrupted', reason: 'the agent stopped during the backup run' };
      if (!outcome.ok || !outcome.summary)
        return { status: 'failed', exitCode: 1, stdout: log.join(''), reason: (outcome.error ?? 'backup: failed').slice(0, 500) };
      const summary = runSummary(outcome.summary, outcome.unreadable);
      log.push(
        `backup: snapshot ${summary.snapshotId}: ${summary.filesNew} new, ${summary.filesChanged} changed, ${summary.filesUnmodified} unmodified files, ${summary.dataAddedBytes} bytes added${summary.unreadableFiles ? `, ${summary.unreadableFiles} unreadable` : ''}\n`,
        `forget: keep ${params.keepDaily} daily, ${params.keepWeekly} weekly; pruned\n`,
      );

      let check: BackupRunResult['check'] = null;
      if (params.check) {
        onPhase('check');
        const checked = await runRestic(options, 'append', checkArgs({ cacheDir: options.cacheDir }, BACKUP_CHECK_READ_DATA_SUBSET));
        if (signal.aborted) return { status: 'interrupted', reason: 'the agent stopped during the backup check' };
        // A failed check does not fail the run: the snapshot exists; the check's result is reported.
        check = {
          ok: checked.code === 0,
          subset: BACKUP_CHECK_READ_DATA_SUBSET,
          error: checked.code === 0 ? null : lastLine(checked.stderrTail),
        };
        log.push(`check --read-data-subset=${BACKUP_CHECK_READ_DATA_SUBSET}: ${check.ok ? 'no errors' : `failed: ${check.error}`}\n`);
      }

      let listed = '';
      const snapshots = await runRestic(
        options,
        'append',
        snapshotsArgs({ cacheDir: options.cacheDir }, this.options.deviceId),
        (line) => (listed += line),
        [options.cacheDir],
        SNAPSHOTS_MAX_LINE,
      );
      const listing = snapshots.code === 0 ? snapshotListing(listed) : null;
      if (!listing)
        return {
          status: 'failed',
          exitCode: 1,
          stdout: log.join(''),
          reason: `snapshots: ${snapshots.code === 0 ? 'restic listed no readable snapshots' : lastLine(snapshots.stderrTail)}`.slice(
            0,
            500,
          ),
        };

      // restic 0.14's summary names the snapshot by its short id: the listing has the full one.
      const full = listing.find((snapshot) => snapshot.id.startsWith(summary.snapshotId));
      if (full) summary.snapshotId = full.id;

      let escrow: BackupRunResult['escrow'] = null;
      if (params.escrowRecipient) {
        const ciphertext = await encryptToRecipient(await readFile(passwordFile, 'utf8'), params.escrowRecipient);
        escrow = { recipient: params.escrowRecipient, ciphertext };
        log.push(`escrow: the repository password, encrypted to ${params.escrowRecipient}\n`);
      }
      const line = resultLine({ summary, snapshots: listing, check, escrow });
      return { status: 'succeeded', exitCode: 0, stdout: `${log.join('')}${line}\n` };
    } finally {
      await progress.close();
      if (progress.dropped > 0)
        this.options.log.info('backup progress reports not accepted', { runId: params.runId, dropped: progress.dropped });
    }
  }

  private async restore(entry: JournalEntry, signal: AbortSignal): Promise<FinalResult> {
    const parsed = BackupRestoreParamsSchema.safeParse(entry.params);
    if (!parsed.success) return { status: 'failed', exitCode: 2, reason: 'backup.restore: the parameters do not follow the contract' };
    const params: BackupRestoreParams = parsed.data;
    const secretDir = join(this.paths.runDir, `${entry.commandId}.secret`);
    try {
      let passwordFile = this.paths.passwordFile;
      let deviceId = this.options.deviceId;
      if (params.source) {
        // Another device's repository: its password, encrypted to this device's transfer key.
        const { identity } = await ensureTransferKey(this.options.dir);
        let password: string;
        try {
          password = await decryptWithIdentity(params.source.passwordCiphertext, identity);
        } catch {
          return { status: 'failed', exitCode: 1, reason: "backup.restore: the password is not encrypted to this device's transfer key" };
        }
        await ensureDirectory(this.paths.runDir);
        await ensureDirectory(secretDir);
        passwordFile = join(secretDir, 'password');
        await writeFileAtomic(passwordFile, password, 0o600);
        deviceId = params.source.deviceId;
      } else {
        await access(passwordFile).catch(() => {
          throw new Error('this device has no repository password yet (it never backed up)');
        });
      }
      const options = await this.resticOptions(entry, signal, { ...params, deviceId, passwordFile });
      const targets = await restoreWritablePaths(params.target, params.include);
      // The unit has a private /tmp (restic-unit.ts): what it restored there would vanish with it.
      const temporary = targets.find((path) => /^\/(var\/)?tmp(\/|$)/.test(path));
      if (options.launcher.kind === 'systemd' && temporary)
        return {
          status: 'failed',
          exitCode: 2,
          reason: `backup.restore: cannot restore into ${temporary}: restic runs with a private /tmp`,
        };
      if (params.target !== '/') await options.launcher.prepareTarget(entry.commandId, params.target);
      const writable = [options.cacheDir, ...targets];
      const progress = this.throttle(params.runId);
      progress.update(progressReport('restore'));
      const restored = await runRestic(
        options,
        'read',
        restoreArgs({ cacheDir: options.cacheDir }, { snapshotId: params.snapshotId, target: params.target, include: params.include }),
        undefined,
        writable,
      ).finally(() => progress.close());
      if (signal.aborted) return { status: 'interrupted', reason: 'the agent stopped during the restore' };
      const what = `snapshot ${params.snapshotId}${params.source ? ` of device ${params.source.deviceId}` : ''}: ${params.include.join(', ')} to ${params.target}`;
      const parents = restored.code === 1 && params.target === '/' ? parentMetadataOnlyErrors(restored.stderrTail, params.include) : null;
      if (parents)
        return {
          status: 'succeeded',
          exitCode: 0,
          stdout:
            `restored ${what}\nthe times of ${parents.join(', ')} (above the restored paths, read-only to the restore) were left as they are\n`.slice(
              0,
              16 * 1024,
            ),
        };
      if (restored.code !== 0)
        return { status: 'failed', exitCode: restored.code ?? 1, reason: `restore: ${lastLine(restored.stderrTail)}`.slice(0, 500) };
      return { status: 'succeeded', exitCode: 0, stdout: `restored ${what}\n`.slice(0, 16 * 1024) };
    } finally {
      await rm(secretDir, { recursive: true, force: true });
    }
  }

  private async removeRunFiles(commandId: string): Promise<void> {
    const { runDir } = this.paths;
    await rm(join(runDir, `${commandId}.secret`), { recursive: true, force: true });
    for (const step of RESTIC_STEPS)
      for (const ext of ['env', 'stdout', 'stderr']) await rm(join(runDir, `${commandId}-${step}.${ext}`), { force: true });
  }
}
