import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { JournalEntry } from './command-journal.js';
import { CommandExecutor, type ExecutorHost } from './executor.js';
import type { ProcessResult } from './run-process.js';

type Behaviour = 'succeed' | 'fail' | 'hang' | 'refuse';
interface FakeUnit {
  fields: Record<string, string>;
}

/**
 * Stands in for PID 1 and systemctl: systemd-run never runs in a unit test (no systemd here).
 * It writes the unit's output files as PID 1 would, and answers `systemctl show`.
 */
class FakeSystemd {
  units = new Map<string, FakeUnit>();
  starts: string[][] = [];
  calls: string[][] = [];
  behaviour: Behaviour = 'succeed';
  output = { stdout: '', stderr: '' };

  run = async (file: string, args: readonly string[]): Promise<ProcessResult> => {
    this.calls.push([file, ...args]);
    const ok = (stdout = '', code = 0, stderr = ''): ProcessResult => ({
      code,
      signal: null,
      stdout: Buffer.from(stdout),
      stderr: Buffer.from(stderr),
      stdoutCut: false,
      stderrCut: false,
    });
    if (file === 'systemd-run') {
      this.starts.push([...args]);
      const unit = args.find((a) => a.startsWith('--unit='))!.slice('--unit='.length);
      if (this.units.has(unit)) return ok('', 1, `Failed to start transient service unit: Unit ${unit} already exists.\n`);
      if (this.behaviour === 'refuse') return ok('', 1, 'Failed to connect to bus: No such file or directory\n');
      const out = args.find((a) => a.startsWith('--property=StandardOutput=file:'))!.split('file:')[1]!;
      const err = args.find((a) => a.startsWith('--property=StandardError=file:'))!.split('file:')[1]!;
      await writeFile(out, this.output.stdout);
      await writeFile(err, this.output.stderr);
      const fields =
        this.behaviour === 'succeed'
          ? { ActiveState: 'active', SubState: 'exited', Result: 'success', ExecMainCode: '1', ExecMainStatus: '0' }
          : this.behaviour === 'fail'
            ? { ActiveState: 'failed', SubState: 'failed', Result: 'exit-code', ExecMainCode: '1', ExecMainStatus: '5' }
            : { ActiveState: 'active', SubState: 'running', Result: 'success', ExecMainCode: '0', ExecMainStatus: '0' };
      this.units.set(unit, { fields: { LoadState: 'loaded', ...fields } });
      return ok();
    }
    if (file === 'systemctl' && args[0] === 'show') {
      const unit = this.units.get(args.at(-1)!);
      const fields = unit?.fields ?? { LoadState: 'not-found', ActiveState: 'inactive', SubState: 'dead' };
      return ok(
        `${Object.entries(fields)
          .map(([k, v]) => `${k}=${v}`)
          .join('\n')}\n`,
      );
    }
    if (file === 'systemctl' && args[0] === 'stop') {
      const unit = this.units.get(args.at(-1)!);
      if (unit?.fields.SubState === 'running') {
        unit.fields = {
          ...unit.fields,
          ActiveState: 'failed',
          SubState: 'failed',
          Result: 'signal',
          ExecMainCode: '2',
          ExecMainStatus: '15',
        };
      } else if (unit?.fields.ActiveState !== 'failed') this.units.delete(args.at(-1)!);
      return ok();
    }
    if (file === 'systemctl' && args[0] === 'reset-failed') {
      this.units.delete(args.at(-1)!);
      return ok();
    }
    throw new Error(`unexpected ${file} ${args.join(' ')}`);
  };
}

const T0 = Date.parse('2026-06-01T12:00:00.000Z');
let dir: string;
let systemd: FakeSystemd;
let clock: number;
let marker: string;
let docker: { path: string }[];
let host: ExecutorHost;
let executor: CommandExecutor;
let onSleep: (() => void) | undefined;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'xspectre-executor-'));
  systemd = new FakeSystemd();
  clock = T0;
  marker = 'boot-a:100';
  docker = [];
  onSleep = undefined;
  host = {
    run: systemd.run,
    systemdRunning: () => Promise.resolve(true),
    dockerSocketExists: () => Promise.resolve(true),
    dockerPost: (path) => {
      docker.push({ path });
      return Promise.resolve({ status: 204, body: '' });
    },
    bootMarker: () => Promise.resolve(marker),
    sleep: (ms) => {
      clock += ms;
      onSleep?.();
      return Promise.resolve();
    },
    now: () => new Date(clock),
  };
  executor = new CommandExecutor(host, { outputDir: join(dir, 'output'), dockerSocket: '/run/docker.sock', pollMs: 1000 });
});
afterEach(() => rm(dir, { recursive: true, force: true }));

function entry(action: string, params: Record<string, unknown> = {}): JournalEntry {
  const commandId = randomUUID();
  return {
    v: 1,
    commandId,
    action,
    params,
    nonce: 'ab'.repeat(16),
    expiresAt: new Date(T0 + 300_000).toISOString(),
    startedAt: new Date(T0).toISOString(),
    bootMarker: marker,
    unit: executor.unitFor(commandId, action),
    runningReported: true,
    result: null,
    finishedAt: null,
    reported: false,
  };
}
const never = new AbortController().signal;

describe('CommandExecutor: systemd actions in a transient unit', () => {
  it('restarts a unit through systemd-run and reads the result and output the unit left', async () => {
    const e = entry('service.restart', { unit: 'nginx.service' });
    systemd.output = { stdout: 'grüße\n', stderr: 'warning: x\n' };
    expect(await executor.run(e, never)).toEqual({
      status: 'succeeded',
      exitCode: 0,
      stdout: 'grüße\n',
      stderr: 'warning: x\n',
      stdoutTruncated: false,
      stderrTruncated: false,
    });
    expect(systemd.starts).toEqual([
      [
        `--unit=xspectre-cmd-${e.commandId}.service`,
        `--description=xSPECTRE command ${e.commandId} (service.restart)`,
        '--quiet',
        '--property=RemainAfterExit=yes',
        `--property=StandardOutput=file:${join(dir, 'output', `${e.commandId}.stdout`)}`,
        `--property=StandardError=file:${join(dir, 'output', `${e.commandId}.stderr`)}`,
        '--',
        'systemctl',
        'restart',
        '--',
        'nginx.service',
      ],
    ]);
    await executor.cleanup(e);
    expect(systemd.calls.slice(-2)).toEqual([
      ['systemctl', 'stop', '--', e.unit],
      ['systemctl', 'reset-failed', '--', e.unit],
    ]);
    expect(systemd.units.size).toBe(0);
    expect(await readdir(join(dir, 'output'))).toEqual([]);
  });

  it('reports a failed unit with its exit status and output', async () => {
    systemd.behaviour = 'fail';
    systemd.output = { stdout: '', stderr: 'Failed to restart nope.service: Unit nope.service not found.\n' };
    expect(await executor.run(entry('service.restart', { unit: 'nope.service' }), never)).toMatchObject({
      status: 'failed',
      exitCode: 5,
      stderr: 'Failed to restart nope.service: Unit nope.service not found.\n',
      reason: 'the transient unit ended: result exit-code, exit status 5',
    });
  });

  it('a second start of the same command fails on the unit name and only waits for the first', async () => {
    const e = entry('service.stop', { unit: 'nginx.service' });
    await executor.run(e, never);
    expect(await executor.run(e, never)).toMatchObject({ status: 'succeeded' });
    expect(systemd.starts).toHaveLength(2);
    expect(systemd.units.size).toBe(1); // one unit, one execution
  });

  it('says so when the unit cannot be started at all', async () => {
    systemd.behaviour = 'refuse';
    expect(await executor.run(entry('service.start', { unit: 'nginx.service' }), never)).toMatchObject({
      status: 'failed',
      exitCode: 1,
      stderr: 'Failed to connect to bus: No such file or directory\n',
      reason: 'could not start the transient unit: systemd-run exit 1',
    });
  });

  it('stops waiting at shutdown (the unit goes on); after the restart, resume reads its result, never starting it again', async () => {
    systemd.behaviour = 'hang';
    const e = entry('service.restart', { unit: 'slow.service' });
    const shutdown = new AbortController();
    onSleep = () => shutdown.abort();
    expect(await executor.run(e, shutdown.signal)).toBeUndefined();
    // The unit finishes while the agent is down.
    systemd.units.get(e.unit!)!.fields = {
      LoadState: 'loaded',
      ActiveState: 'active',
      SubState: 'exited',
      Result: 'success',
      ExecMainCode: '1',
      ExecMainStatus: '0',
    };
    onSleep = undefined;
    const fresh = new CommandExecutor(host, { outputDir: join(dir, 'output'), dockerSocket: '/run/docker.sock' });
    expect(await fresh.resume(e, never)).toMatchObject({ status: 'succeeded', exitCode: 0 });
    expect(systemd.starts).toHaveLength(1);
  });

  it('resume: a unit gone without a result is interrupted', async () => {
    expect(await executor.resume(entry('service.restart', { unit: 'nginx.service' }), never)).toEqual({
      status: 'interrupted',
      reason: 'the agent stopped, and the transient unit is gone without a result',
    });
    expect(systemd.starts).toHaveLength(0);
  });

  it('stops a unit that runs past its time and reports it failed', async () => {
    systemd.behaviour = 'hang';
    const short = new CommandExecutor(host, { outputDir: join(dir, 'output'), dockerSocket: '/x', unitWaitMs: 10_000, pollMs: 1000 });
    const e = entry('service.restart', { unit: 'stuck.service' });
    expect(await short.run(e, never)).toMatchObject({ status: 'failed', exitCode: 143, reason: 'still running after 10 s: stopped' });
    expect(systemd.calls).toContainEqual(['systemctl', 'stop', '--', e.unit]);
  });
});

describe('CommandExecutor: reboot', () => {
  it('runs systemctl reboot in a unit, then waits to be stopped by the reboot (no result before the boot)', async () => {
    const e = entry('reboot');
    const shutdown = new AbortController();
    onSleep = () => shutdown.abort();
    expect(await executor.run(e, shutdown.signal)).toBeUndefined();
    expect(systemd.starts[0]!.slice(-2)).toEqual(['systemctl', 'reboot']);
  });

  it('after the boot: a new boot marker means succeeded', async () => {
    const e = entry('reboot');
    marker = 'boot-b:100';
    expect(await executor.resume(e, never)).toEqual({
      status: 'succeeded',
      exitCode: 0,
      stdout: `the device restarted\nboot marker before: ${e.bootMarker}\nboot marker now: boot-b:100\n`,
    });
    marker = 'boot-a:555'; // a container device: same kernel, PID 1 restarted
    expect(await executor.resume(e, never)).toMatchObject({ status: 'succeeded' });
  });

  it('same boot: interrupted when the unit is gone, failed when no reboot came within the wait', async () => {
    const e = entry('reboot');
    expect(await executor.resume(e, never)).toMatchObject({ status: 'interrupted' });
    expect(await executor.run(e, never)).toMatchObject({
      status: 'failed',
      exitCode: 0,
      reason: 'the device did not restart within 5 minutes',
    });
    await executor.cleanup(e);
    expect(systemd.units.size).toBe(0);
  });
});

describe('CommandExecutor: reboot-to-recovery', () => {
  const self = ['/usr/local/bin/xspectre-agent'];
  const withSelf = () =>
    new CommandExecutor(host, { outputDir: join(dir, 'output'), dockerSocket: '/run/docker.sock', pollMs: 1000, self });

  it('is unsupported without the agent to run, without systemd or without a boot id', async () => {
    expect(await executor.unsupported('reboot-to-recovery')).toBe('the recovery boot is not set up in this agent');
    executor = withSelf();
    expect(await executor.unsupported('reboot-to-recovery')).toBeNull();
    host.bootMarker = () => Promise.reject(new Error('no /proc'));
    expect(await executor.unsupported('reboot-to-recovery')).toBe('cannot read the boot id');
    host.systemdRunning = () => Promise.resolve(false);
    expect(await executor.unsupported('reboot-to-recovery')).toBe('systemd is not running (PID 1 is not systemd)');
  });

  it('runs `xspectre-agent recovery-boot` in a transient unit, then waits for the reboot like reboot', async () => {
    executor = withSelf();
    const e = entry('reboot-to-recovery');
    expect(e.unit).toBe(`xspectre-cmd-${e.commandId}.service`);
    const shutdown = new AbortController();
    onSleep = () => shutdown.abort();
    expect(await executor.run(e, shutdown.signal)).toBeUndefined();
    expect(systemd.starts[0]!.slice(-3)).toEqual(['--', '/usr/local/bin/xspectre-agent', 'recovery-boot']);
  });

  it('a failed arm (no stick) is failed with the reason recovery-boot printed, and no wait for a reboot', async () => {
    executor = withSelf();
    systemd.behaviour = 'fail';
    systemd.output = {
      stdout: '',
      stderr: 'no recovery stick found: no disk has a partition named XS-RECOVERY and one named EFI (disks: sda)\n',
    };
    expect(await executor.run(entry('reboot-to-recovery'), never)).toMatchObject({
      status: 'failed',
      exitCode: 5,
      reason: 'no recovery stick found: no disk has a partition named XS-RECOVERY and one named EFI (disks: sda)',
    });
    expect(clock).toBe(T0);
  });

  it('after the boot: succeeded with what was armed (kept in the output file) and the boot markers', async () => {
    executor = withSelf();
    const e = entry('reboot-to-recovery');
    systemd.output = { stdout: 'one-time boot: BootNext=0004\n', stderr: '' };
    const shutdown = new AbortController();
    onSleep = () => shutdown.abort();
    await executor.run(e, shutdown.signal);
    marker = 'boot-b:100';
    expect(await executor.resume(e, never)).toEqual({
      status: 'succeeded',
      exitCode: 0,
      stdout: `one-time boot: BootNext=0004\nthe device restarted\nboot marker before: ${e.bootMarker}\nboot marker now: boot-b:100\n`,
      stdoutTruncated: false,
    });
  });
});

describe('CommandExecutor: other actions', () => {
  it('container actions are Engine API calls; a failure to reach it fails the command', async () => {
    expect(await executor.run(entry('container.restart', { container: 'web' }), never)).toMatchObject({ status: 'succeeded' });
    expect(docker).toEqual([{ path: '/containers/web/restart' }]);
    host.dockerPost = () => Promise.reject(new Error('connect ECONNREFUSED /run/docker.sock'));
    expect(await executor.run(entry('container.stop', { container: 'web' }), never)).toEqual({
      status: 'failed',
      exitCode: 1,
      reason: 'cannot reach the Docker engine: connect ECONNREFUSED /run/docker.sock',
    });
    expect(systemd.starts).toEqual([]);
  });

  it('resume never repeats a container action or diagnostics: interrupted', async () => {
    expect(await executor.resume(entry('container.restart', { container: 'web' }), never)).toMatchObject({ status: 'interrupted' });
    expect(await executor.resume(entry('diagnostics.collect'), never)).toMatchObject({ status: 'interrupted' });
    expect(docker).toEqual([]);
  });

  it('tells what the host cannot do', async () => {
    expect(await executor.unsupported('service.restart')).toBeNull();
    host.systemdRunning = () => Promise.resolve(false);
    host.dockerSocketExists = () => Promise.resolve(false);
    expect(await executor.unsupported('service.restart')).toBe('systemd is not running (PID 1 is not systemd)');
    expect(await executor.unsupported('reboot')).toBe('systemd is not running (PID 1 is not systemd)');
    expect(await executor.unsupported('container.start')).toBe('no Docker engine socket at /run/docker.sock');
    expect(await executor.unsupported('diagnostics.collect')).toBeNull();
  });

  it('hands backups to the backup actions: in the agent, no unit of its own; after a restart, resume (never run again)', async () => {
    expect(await executor.unsupported('backup.run')).toBe('file backups are not set up in this agent');
    const calls: string[] = [];
    const backups = {
      unsupported: async () => 'restic is not installed (no restic executable on PATH)',
      run: async (e: JournalEntry) => (calls.push(`run ${e.action}`), { status: 'succeeded' as const, exitCode: 0, stdout: '{}\n' }),
      resume: async (e: JournalEntry, systemdRunning: boolean) => (
        calls.push(`resume ${e.action} ${systemdRunning}`),
        { status: 'interrupted' as const, reason: 'the agent stopped' }
      ),
    };
    executor = new CommandExecutor(host, { outputDir: join(dir, 'output'), dockerSocket: '/run/docker.sock', backups });
    expect(await executor.unsupported('backup.restore')).toBe('restic is not installed (no restic executable on PATH)');
    const run = entry('backup.run');
    expect(run.unit).toBeNull();
    expect(await executor.run(run, never)).toMatchObject({ status: 'succeeded' });
    expect(await executor.resume(entry('backup.restore'), never)).toMatchObject({ status: 'interrupted' });
    expect(calls).toEqual(['run backup.run', 'resume backup.restore true']);
    expect(systemd.starts).toEqual([]);
  });
});
