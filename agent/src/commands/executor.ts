import { access, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ensureDirectory } from '../atomic-file.js';
import { errorMessage } from '../errors.js';
import { readBootMarker } from './boot-marker.js';
import { MANAGED_ACTIONS, type ManagedActions } from './managed-actions.js';
import type { FinalResult, JournalEntry } from './command-journal.js';
import { collectDiagnostics, type RunFn } from './diagnostics.js';
import { containerActionPath, containerResult, containerVerb, dockerPost, type DockerAnswer } from './docker-actions.js';
import { boundBytes, readBoundedFile } from './output.js';
import { runProcess } from './run-process.js';
import { prepareScript, removeScript, SCRIPT_RUN, scriptWaitMs, type ScriptHost } from './script-run.js';
import { BACKUP_ACTIONS, type BackupActions } from '../backups/backup-action.js';
import { SCANNER_ACTIONS, type ScannerActions } from './scanner-actions.js';
import { REBOOT_TO_RECOVERY } from './recovery-boot.js';
import { AGENT_UPDATE, prepareUpdate, removeUpdateFiles, updateResult, updateUnsupported, type UpdateOptions } from './agent-update.js';
import {
  cleanupArgs,
  parseUnitShow,
  showUnitArgs,
  systemdRunArgs,
  transientUnitName,
  UNIT_ACTIONS,
  unitCommand,
  unitOutcome,
  type UnitOutcome,
} from './transient-unit.js';

/** What the executor needs of the host; tests pass stand-ins (systemd-run never runs in a unit test). */
export interface ExecutorHost {
  run: RunFn;
  /** sd_booted(): /run/systemd/system exists. */
  systemdRunning: () => Promise<boolean>;
  dockerSocketExists: () => Promise<boolean>;
  dockerPost: (path: string) => Promise<DockerAnswer>;
  bootMarker: () => Promise<string>;
  /** Resolves after `ms`, or early when `signal` aborts. */
  sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  now: () => Date;
}

export function hostExecutorHost(dockerSocket: string): ExecutorHost {
  const exists = (path: string) =>
    access(path).then(
      () => true,
      () => false,
    );
  return {
    run: runProcess,
    systemdRunning: () => exists('/run/systemd/system'),
    dockerSocketExists: () => exists(dockerSocket),
    dockerPost: (path) => dockerPost(dockerSocket, path),
    bootMarker: () => readBootMarker(),
    sleep: (ms, signal) => sleep(ms, undefined, { signal }).catch(() => undefined),
    now: () => new Date(),
  };
}

export interface ExecutorOptions {
  /** Absolute: PID 1 writes the transient units' output here (the agent's state directory). */
  outputDir: string;
  dockerSocket: string;
  /** A unit still running after this long is stopped and reported failed (default 15 min). */
  unitWaitMs?: number;
  /** After `systemctl reboot` succeeded, how long the agent waits to be stopped by the reboot (default 5 min). */
  rebootWaitMs?: number;
  pollMs?: number;
  /** `script.run`: where scripts come from and the absolute directory they are written to (script-run.ts). Without it, script runs are unsupported. */
  scripts?: { host: ScriptHost; dir: string };
  /** `agent.update`: download, swap script and health window (agent-update.ts). Without it, updates are unsupported. */
  update?: UpdateOptions;
  /** settings.apply, credential.rotate, keys.pin: run in the agent's process (managed-actions.ts). Without it, they are unsupported. */
  managed?: Pick<ManagedActions, 'run'>;
  /** backup.run, backup.restore: restic with the forwarder in the agent's process (backup-action.ts). Without it, they are unsupported. */
  backups?: Pick<BackupActions, 'unsupported' | 'run' | 'resume'>;
  /** scanner.*: Greenbone through Docker, gvmd's command line and GMP (scanner-actions.ts). Without it, they are unsupported. */
  scanner?: Pick<ScannerActions, 'unsupported' | 'run' | 'resume'>;
  /**
   * reboot-to-recovery: the argv that runs this agent's executable (`[execPath]`, or node and its
   * script); the transient unit runs it with `recovery-boot` (recovery-boot.ts). Without it, unsupported.
   */
  self?: readonly string[];
}

/** Actions that end in a reboot: reported after the boot, when the boot marker has changed. */
const REBOOTS: ReadonlySet<string> = new Set(['reboot', REBOOT_TO_RECOVERY]);

const SYSTEMD_RUN_TIMEOUT_MS = 60_000;
const SYSTEMCTL_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 120_000;
const SMALL_OUTPUT = 64 * 1024;
const FIRST_POLL_MS = 50;

const duration = (ms: number) => (ms < 120_000 ? `${Math.round(ms / 1000)} s` : `${Math.round(ms / 60_000)} minutes`);

type Waited = Exclude<UnitOutcome, { state: 'running' }> | { state: 'aborted' };

export class CommandExecutor {
  private readonly unitWaitMs: number;
  private readonly rebootWaitMs: number;
  private readonly pollMs: number;

  constructor(
    private readonly host: ExecutorHost,
    private readonly options: ExecutorOptions,
  ) {
    this.unitWaitMs = options.unitWaitMs ?? 15 * 60_000;
    this.rebootWaitMs = options.rebootWaitMs ?? 5 * 60_000;
    this.pollMs = options.pollMs ?? 1000;
  }

  /** Why this host cannot run `action` (checked before anything is recorded), or null. */
  async unsupported(action: string): Promise<string | null> {
    if (BACKUP_ACTIONS.has(action))
      return this.options.backups ? this.options.backups.unsupported() : 'file backups are not set up in this agent';
    if (MANAGED_ACTIONS.has(action)) return this.options.managed ? null : 'managed settings are not set up in this agent';
    if (SCANNER_ACTIONS.has(action))
      return this.options.scanner ? this.options.scanner.unsupported(action) : 'scanner actions are not set up in this agent';
    if (UNIT_ACTIONS.has(action)) {
      if (!(await this.host.systemdRunning())) return 'systemd is not running (PID 1 is not systemd)';
      if (REBOOTS.has(action) && !(await this.host.bootMarker().then(Boolean, () => false))) return 'cannot read the boot id';
      if (action === REBOOT_TO_RECOVERY && !this.options.self?.length) return 'the recovery boot is not set up in this agent';
      if (action === SCRIPT_RUN && !this.options.scripts) return 'script runs are not set up in this agent';
      if (action === AGENT_UPDATE)
        return this.options.update ? updateUnsupported(this.options.update) : 'agent updates are not set up in this agent';
      return null;
    }
    if (containerVerb(action) && !(await this.host.dockerSocketExists())) return `no Docker engine socket at ${this.options.dockerSocket}`;
    return null;
  }

  /** The transient unit a command of this action runs in (for the journal), or null. */
  unitFor(commandId: string, action: string): string | null {
    return UNIT_ACTIONS.has(action) ? transientUnitName(commandId) : null;
  }

  bootMarker(): Promise<string> {
    return this.host.bootMarker().catch(() => '');
  }

  /**
   * Runs a command whose `started` is in the journal. Resolves its result, or undefined when
   * `signal` (shutdown) ended the wait first: the unit goes on, and resume() reads its result
   * after the restart. A reboot resolves undefined when the reboot stops the agent.
   */
  async run(entry: JournalEntry, signal: AbortSignal): Promise<FinalResult | undefined> {
    if (MANAGED_ACTIONS.has(entry.action) && this.options.managed) return this.options.managed.run(entry, signal);
    if (BACKUP_ACTIONS.has(entry.action) && this.options.backups) return this.options.backups.run(entry, signal);
    if (SCANNER_ACTIONS.has(entry.action) && this.options.scanner) return this.options.scanner.run(entry, signal);
    const verb = containerVerb(entry.action);
    if (verb) {
      const container = String(entry.params.container);
      try {
        return containerResult(verb, container, await this.host.dockerPost(containerActionPath(verb, container)));
      } catch (err) {
        return { status: 'failed', exitCode: 1, reason: `cannot reach the Docker engine: ${errorMessage(err)}`.slice(0, 500) };
      }
    }
    if (entry.action === 'diagnostics.collect') {
      const result = await collectDiagnostics(this.host.run, signal);
      return signal.aborted ? undefined : result;
    }
    // A script is fetched, checked against its signed SHA-256 and written first (script-run.ts).
    // An update's executable is downloaded and checked likewise, and its swap script written (agent-update.ts).
    const script =
      entry.action === SCRIPT_RUN && this.options.scripts
        ? await prepareScript(entry, this.options.scripts.host, this.options.scripts.dir, signal)
        : entry.action === AGENT_UPDATE && this.options.update
          ? await prepareUpdate(entry, this.options.update, signal)
          : undefined;
    if (script?.kind === 'aborted') return undefined;
    if (script?.kind === 'done') return script.result;
    const command = script
      ? script.command
      : entry.action === REBOOT_TO_RECOVERY && this.options.self?.length
        ? [...this.options.self, 'recovery-boot']
        : unitCommand(entry.action, entry.params);
    if (!command || !entry.unit) return { status: 'failed', reason: `no executor for the action ${entry.action}` };

    await ensureDirectory(this.options.outputDir);
    const start = await this.host.run(
      'systemd-run',
      systemdRunArgs({
        commandId: entry.commandId,
        action: entry.action,
        ...this.outputPaths(entry.commandId),
        command,
        ...(script ? { runtimeMaxSec: script.runtimeMaxSec } : {}),
      }),
      { timeoutMs: SYSTEMD_RUN_TIMEOUT_MS, maxBytes: SMALL_OUTPUT },
    );
    const waited = await this.waitForUnit(entry, signal);
    if (waited.state === 'aborted') return undefined;
    if (waited.state === 'gone') {
      if (start.code === 0) return { status: 'interrupted', reason: 'the transient unit disappeared before its result was read' };
      const stderr = boundBytes(start.stderr);
      return {
        status: 'failed',
        ...(start.code === null ? {} : { exitCode: start.code }),
        stderr: stderr.text,
        stderrTruncated: stderr.truncated,
        reason: `could not start the transient unit: ${start.error ?? `systemd-run exit ${start.code}`}`.slice(0, 500),
      };
    }
    return this.finishUnit(entry, waited, signal);
  }

  /** The result of a command that was started before the agent restarted (never starts it again). */
  async resume(entry: JournalEntry, signal: AbortSignal): Promise<FinalResult | undefined> {
    // Each step of these is recorded in managed.json: running one again finishes it, never does it twice.
    if (MANAGED_ACTIONS.has(entry.action) && this.options.managed) return this.options.managed.run(entry, signal);
    // restic's forwarder lived in the agent's process: a run under way when it stopped cannot have finished.
    if (BACKUP_ACTIONS.has(entry.action) && this.options.backups)
      return this.options.backups.resume(entry, await this.host.systemdRunning());
    if (SCANNER_ACTIONS.has(entry.action) && this.options.scanner) return this.options.scanner.resume(entry, signal);
    if (REBOOTS.has(entry.action) && entry.bootMarker !== '') {
      const now = await this.bootMarker();
      // The boot marker is what the operator sees of the new boot (boot id and PID 1's start, boot-marker.ts).
      if (now !== '' && now !== entry.bootMarker) {
        const restarted = `the device restarted\nboot marker before: ${entry.bootMarker}\nboot marker now: ${now}\n`;
        if (entry.action === 'reboot') return { status: 'succeeded', exitCode: 0, stdout: restarted };
        // What was armed (stick, entry, path) is in the unit's output file, kept on disk across the boot.
        const armed = await this.withOutput(entry, { status: 'succeeded', exitCode: 0 });
        const stdout = boundBytes(Buffer.from(`${armed.stdout ?? ''}${restarted}`, 'utf8'));
        return { status: 'succeeded', exitCode: 0, stdout: stdout.text, stdoutTruncated: stdout.truncated };
      }
    }
    if (!entry.unit) {
      return {
        status: 'interrupted',
        reason: containerVerb(entry.action)
          ? 'the agent stopped while the Docker engine carried out the action; its outcome is unknown'
          : 'the agent stopped before the action finished',
      };
    }
    if (!(await this.host.systemdRunning())) return { status: 'interrupted', reason: 'systemd is not running' };
    const waited = await this.waitForUnit(entry, signal);
    if (waited.state === 'aborted') return undefined;
    if (waited.state === 'gone') {
      return { status: 'interrupted', reason: 'the agent stopped, and the transient unit is gone without a result' };
    }
    return this.finishUnit(entry, waited, signal);
  }

  /** Stops and unloads the transient unit and removes its output files, once the result is in the journal. */
  async cleanup(entry: JournalEntry): Promise<void> {
    if (entry.unit) {
      for (const args of cleanupArgs(entry.unit)) {
        await this.host.run('systemctl', args, { timeoutMs: STOP_TIMEOUT_MS, maxBytes: SMALL_OUTPUT });
      }
    }
    const paths = this.outputPaths(entry.commandId);
    await Promise.all([rm(paths.stdoutPath, { force: true }), rm(paths.stderrPath, { force: true })]);
    if (entry.action === SCRIPT_RUN && this.options.scripts) await removeScript(this.options.scripts.dir, entry.commandId);
    if (entry.action === AGENT_UPDATE && this.options.update) await removeUpdateFiles(this.options.update.dir, entry.commandId);
  }

  private outputPaths(commandId: string) {
    return {
      stdoutPath: join(this.options.outputDir, `${commandId}.stdout`),
      stderrPath: join(this.options.outputDir, `${commandId}.stderr`),
    };
  }

  private async finishUnit(entry: JournalEntry, waited: { state: 'done'; result: FinalResult }, signal: AbortSignal) {
    const output = await this.withOutput(entry, waited.result);
    // Whichever build runs after the restart reports the swap script's outcome (agent-update.ts).
    const result =
      entry.action === AGENT_UPDATE && this.options.update ? await updateResult(entry, output, this.options.update.dir) : output;
    if (entry.action === REBOOT_TO_RECOVERY && result.status === 'failed' && result.stderr?.trim()) {
      // recovery-boot prints why it did not arm (no stick, no boot loader) as its last stderr line.
      const why = result.stderr.trim().split('\n').pop()!;
      return { ...result, reason: why.slice(0, 500) };
    }
    if (!REBOOTS.has(entry.action) || result.status !== 'succeeded') return result;
    // `systemctl reboot` only queued the reboot: the result is reported after the boot.
    const left = Date.parse(entry.startedAt) + this.rebootWaitMs - this.host.now().getTime();
    if (left > 0) await this.host.sleep(left, signal);
    if (signal.aborted) return undefined;
    return { ...result, status: 'failed' as const, reason: `the device did not restart within ${duration(this.rebootWaitMs)}` };
  }

  private async withOutput(entry: JournalEntry, result: FinalResult): Promise<FinalResult> {
    const paths = this.outputPaths(entry.commandId);
    const [stdout, stderr] = await Promise.all([readBoundedFile(paths.stdoutPath), readBoundedFile(paths.stderrPath)]);
    return { ...result, stdout: stdout.text, stderr: stderr.text, stdoutTruncated: stdout.truncated, stderrTruncated: stderr.truncated };
  }

  /** Polls the unit until it has a result, is gone, or runs past its time (then it is stopped and failed). */
  private async waitForUnit(entry: JournalEntry, signal: AbortSignal): Promise<Waited> {
    const unit = entry.unit!;
    const waitMs = entry.action === SCRIPT_RUN ? scriptWaitMs(entry.params, this.unitWaitMs) : this.unitWaitMs;
    const deadline = Date.parse(entry.startedAt) + waitMs;
    // Most actions end within a fraction of a second: ask soon, then less often (up to pollMs).
    let pause = Math.min(FIRST_POLL_MS, this.pollMs);
    for (;;) {
      const outcome = await this.showUnit(unit);
      if (outcome.state !== 'running') return outcome;
      if (this.host.now().getTime() >= deadline) {
        await this.host.run('systemctl', ['stop', '--', unit], { timeoutMs: STOP_TIMEOUT_MS, maxBytes: SMALL_OUTPUT });
        const after = await this.showUnit(unit);
        const base = after.state === 'done' ? after.result : { status: 'failed' as const };
        return {
          state: 'done',
          result: { ...base, status: 'failed', reason: `still running after ${duration(waitMs)}: stopped` },
        };
      }
      await this.host.sleep(pause, signal);
      pause = Math.min(pause * 2, this.pollMs);
      if (signal.aborted) return { state: 'aborted' };
    }
  }

  /** `systemctl show` of the unit; when systemctl itself fails, the unit counts as still running (asked again). */
  private async showUnit(unit: string): Promise<UnitOutcome> {
    const shown = await this.host.run('systemctl', showUnitArgs(unit), { timeoutMs: SYSTEMCTL_TIMEOUT_MS, maxBytes: SMALL_OUTPUT });
    if (shown.code !== 0) return { state: 'running' };
    return unitOutcome(parseUnitShow(shown.stdout.toString('utf8')));
  }
}
