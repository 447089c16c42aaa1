// Monitor provisioning for a source install (gvmd.service): gvmd's command line on the host as
// its service user, here the stand-in gvmd command line script (test/gvmd-standin/cli.ts) run by
// sh in place of `runuser -u gvm -- gvmd`, against the stand-in gvmd. No Docker needed.
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runProcess } from '../src/commands/run-process.js';
import { provisionMonitor, ProvisionError } from '../src/scanner/action-provision.js';
import type { GreenboneInstall } from '../src/scanner/discovery.js';
import type { HostRun } from '../src/scanner/gvmd-cli.js';
import { readMonitorAccount } from '../src/scanner/monitor-account.js';
import { GVMD_CLI_SCRIPT, startGvmdCliWatcher, startGvmdStandin, type GvmdCliWatcher, type GvmdStandin } from './gvmd-standin/index.js';

describe('provisioning the monitor account on a source install', () => {
  let dir: string;
  let runDir: string;
  let stateDir: string;
  let script: string;
  let standin: GvmdStandin;
  let watcher: GvmdCliWatcher;
  const calls: string[][] = [];
  const install = (): GreenboneInstall => ({
    method: 'systemd',
    composeProject: null,
    gvmd: 'gvmd.service',
    gvmdContainerId: null,
    socketPath: join(runDir, 'gvmd.sock'),
    coreContainers: new Map(),
  });
  /** The host: `gvm` exists (not `_gvm`); `runuser -u gvm -- gvmd …` runs the stand-in's gvmd script. */
  const host: HostRun = async (file, args, options) => {
    calls.push([file, ...args]);
    if (file === 'id') return runProcess('sh', ['-c', `test "$1" = gvm`, 'id', args.at(-1)!], options);
    if (file === 'runuser' && args.slice(0, 4).join(' ') === '-u gvm -- gvmd') return runProcess('sh', [script, ...args.slice(4)], options);
    return runProcess('false', [], options);
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'xspectre-provision-'));
    runDir = join(dir, 'run-gvmd');
    stateDir = join(dir, 'state');
    await mkdir(runDir);
    await mkdir(stateDir, { mode: 0o700 });
    script = join(dir, 'gvmd');
    await writeFile(script, GVMD_CLI_SCRIPT, { mode: 0o755 });
    process.env.XSPECTRE_STANDIN_CLI_DIR = runDir;
    standin = await startGvmdStandin({ socketPath: join(runDir, 'gvmd.sock'), adminPassword: 'not-the-default' });
    watcher = await startGvmdCliWatcher(standin, runDir);
  });
  afterAll(async () => {
    delete process.env.XSPECTRE_STANDIN_CLI_DIR;
    await watcher?.stop();
    await standin?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('creates the account as the service user, stores it 0600, and finds admin/admin gone', async () => {
    const report = await provisionMonitor({ install: install(), dockerSocket: '/nonexistent', stateDir, run: host });
    expect(report).toMatchObject({
      username: 'xspectre-monitor',
      account: 'created',
      role: 'Observer',
      defaultAdminPassword: false,
      readsEveryTask: true,
    });
    const account = (await readMonitorAccount(stateDir))!;
    expect(standin.users.find((u) => u.username === 'xspectre-monitor')!.password).toBe(account.password);
    expect((await stat(join(stateDir, 'gmp-monitor.json'))).mode & 0o777).toBe(0o600);
    expect(JSON.stringify(report)).not.toContain(account.password);
    // argument arrays all the way: the password is one argv element, never a shell string
    expect(calls.filter((c) => c[0] === 'runuser').map((c) => c.slice(0, 6).map((a) => a.split('=')[0]))).toEqual([
      ['runuser', '-u', 'gvm', '--', 'gvmd', '--create-user'],
      ['runuser', '-u', 'gvm', '--', 'gvmd', '--user'],
      ['runuser', '-u', 'gvm', '--', 'gvmd', '--create-user'],
      ['runuser', '-u', 'gvm', '--', 'gvmd', '--delete-user'],
    ]);
    expect(calls.find((c) => c.at(-1)?.startsWith('--new-password='))?.at(-1)).toBe(`--new-password=${account.password}`);
    expect(calls.filter((c) => c[0] === 'id').map((c) => c.at(-1))).toEqual(Array(4).fill(['_gvm', 'gvm']).flat());
  });

  it('detects admin/admin when it is back in place', async () => {
    standin.users.find((u) => u.username === 'admin')!.password = 'admin';
    const report = await provisionMonitor({ install: install(), dockerSocket: '/nonexistent', stateDir, run: host });
    expect(report).toMatchObject({ account: 'reset', defaultAdminPassword: true });
    expect((await readMonitorAccount(stateDir))!.defaultAdminPassword).toBe(true);
  });

  it('fails without a password in the message when gvmd refuses the new account over GMP', async () => {
    const before = (await readMonitorAccount(stateDir))!;
    // gvmd's command line "succeeds" but the account cannot log in (e.g. gvmd uses an external auth method)
    const refusing: HostRun = async (file, args, options) => {
      const result = await host(file, args, options);
      if (args.some((a) => a.startsWith('--new-password=')))
        standin.users.find((u) => u.username === 'xspectre-monitor')!.password = 'other';
      return result;
    };
    const error = await provisionMonitor({ install: install(), dockerSocket: '/nonexistent', stateDir, run: refusing }).catch(
      (e: Error) => e,
    );
    expect(error).toBeInstanceOf(ProvisionError);
    expect((error as Error).message).toBe('gvmd does not accept the password it was just given (authentication failed)');
    // the stored account is the one before (nothing written for a failed provisioning)
    expect((await readMonitorAccount(stateDir))!.password).toBe(before.password);
  });

  it('reports an account that cannot read every task, and a temporary Super Admin left behind, loudly', async () => {
    // gvmd refuses the temporary Super Admin: the account works, but sees only what is shared with it
    const noSuperAdmin: HostRun = (file, args, options) =>
      args.includes('--role=Super Admin')
        ? runProcess('sh', ['-c', 'echo "Failed to find role." >&2; exit 1'], options)
        : host(file, args, options);
    const report = await provisionMonitor({ install: install(), dockerSocket: '/nonexistent', stateDir, run: noSuperAdmin });
    expect(report).toMatchObject({
      readsEveryTask: false,
      grant: 'not granted: gvmd --create-user (temporary Super Admin) exited 1: Failed to find role.',
    });
    // the temporary account cannot be deleted: say which, never its password
    const noDelete: HostRun = async (file, args, options) =>
      args.some((a) => a.startsWith('--delete-user='))
        ? runProcess('sh', ['-c', 'echo "User has active tasks." >&2; exit 1'], options)
        : host(file, args, options);
    const left = await provisionMonitor({ install: install(), dockerSocket: '/nonexistent', stateDir, run: noDelete });
    expect(left.readsEveryTask).toBe(false);
    expect(left.grant).toMatch(
      /^not granted: the temporary Super Admin xspectre-grant-[0-9a-f]{8} could not be deleted \(delete it by hand\): User has active tasks\.$/,
    );
    const temporary = calls.find((c) => c.some((a) => a === '--role=Super Admin'))!;
    const tempPassword = temporary.find((a) => a.startsWith('--password='))!.slice('--password='.length);
    expect(JSON.stringify(left)).not.toContain(tempPassword);
    const leftover = standin.users.findIndex((u) => u.username.startsWith('xspectre-grant-'));
    expect(leftover).toBeGreaterThanOrEqual(0);
    standin.users.splice(leftover, 1);
  });

  it('fails clearly when gvmd’s service user or gvmd itself is missing, or only a socket was configured', async () => {
    const noUser: HostRun = (file, args, options) => (file === 'id' ? runProcess('false', [], options) : host(file, args, options));
    await expect(provisionMonitor({ install: install(), dockerSocket: '/nonexistent', stateDir, run: noUser })).rejects.toThrow(
      "gvmd's service user (_gvm or gvm) does not exist on this host",
    );
    const noGvmd: HostRun = (file, args, options) =>
      file === 'runuser' ? runProcess('xspectre-no-such-gvmd', [], options) : host(file, args, options);
    await expect(provisionMonitor({ install: install(), dockerSocket: '/nonexistent', stateDir, run: noGvmd })).rejects.toThrow(
      /^gvmd could not be run: xspectre-no-such-gvmd is not installed/,
    );
    await expect(
      provisionMonitor({ install: { ...install(), method: 'configured', gvmd: null }, dockerSocket: '/nonexistent', stateDir, run: host }),
    ).rejects.toThrow(/configured socket: its command line is not reachable/);
  });
});
