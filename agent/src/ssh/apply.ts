import { chmod, chown, lstat, mkdir, readFile, stat, unlink } from 'node:fs/promises';
import { SSH_ACCOUNT, type DeviceSshSetup } from '@xspectre/contracts';
import { runProcess, type ProcessResult } from '../commands/run-process.js';
import { writeFileAtomic } from '../atomic-file.js';
import {
  accountPlan,
  fileChange,
  parsePasswdEntry,
  parseShadowPassword,
  renderPrincipals,
  renderSshdDropIn,
  renderSudoers,
  renderUserCa,
  SSH_SETUP_PATHS as P,
  withDropInInclude,
  type AccountState,
  type FileState,
} from '../ssh-setup.js';

/** The step that failed and why (sshd's or the tool's own message, never a secret). */
export class SshSetupError extends Error {
  constructor(
    readonly step: string,
    message: string,
  ) {
    super(message);
    this.name = 'SshSetupError';
  }
}

export interface SshSetupResult {
  /** What changed, in order (empty: everything was already in place). */
  changes: string[];
  /** How sshd took it: reloaded, not running, or nothing to reload. */
  sshd: string;
}

const RUN = { timeoutMs: 60_000, maxBytes: 16 * 1024 };

async function exec(step: string, file: string, args: string[]): Promise<ProcessResult> {
  const result = await runProcess(file, args, RUN);
  if (result.error !== undefined) throw new SshSetupError(step, `${file}: ${result.error}`);
  return result;
}

function output(result: ProcessResult): string {
  return `${result.stderr.toString('utf8')}\n${result.stdout.toString('utf8')}`.trim().slice(0, 2000) || `exit code ${result.code}`;
}

async function must(step: string, file: string, args: string[]): Promise<ProcessResult> {
  const result = await exec(step, file, args);
  if (result.code !== 0) throw new SshSetupError(step, `${file} ${args.join(' ')} failed: ${output(result)}`);
  return result;
}

export async function exists(path: string): Promise<boolean> {
  return lstat(path).then(
    () => true,
    () => false,
  );
}

async function fileState(path: string): Promise<FileState | null> {
  try {
    const info = await stat(path);
    return { content: await readFile(path, 'utf8'), mode: info.mode & 0o7777, uid: info.uid, gid: info.gid };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/**
 * Makes this device's sshd accept the API's session certificates. Idempotent: each step changes
 * only what differs. A failed `sshd -t` puts back the sshd files this run changed.
 */
export async function applySshSetup(setup: DeviceSshSetup): Promise<SshSetupResult> {
  if (setup.account !== SSH_ACCOUNT) throw new SshSetupError('account', `unexpected account ${setup.account}`);
  const changes: string[] = [];
  await ensureAccount(changes);
  await ensureSudoers(changes);

  // The sshd files: what was there is kept until sshd -t accepts the new set.
  const previous = new Map<string, FileState | null>();
  const put = async (step: string, path: string, content: string, mode: number) => {
    const current = await fileState(path);
    const change = fileChange(current, content, mode);
    if (change === 'unchanged') return;
    if (!previous.has(path)) previous.set(path, current);
    try {
      if (change === 'write') await writeFileAtomic(path, content, mode);
      await chown(path, 0, 0);
      await chmod(path, mode);
    } catch (err) {
      throw new SshSetupError(step, `cannot write ${path}: ${(err as Error).message}`);
    }
    changes.push(`${change === 'write' ? (current === null ? 'created' : 'updated') : 'fixed the permissions of'} ${path}`);
  };

  try {
    await ensureRootDirectory(P.trustDir, 0o755, changes);
    await put('trust files', P.userCa, renderUserCa(setup), 0o644);
    await put('trust files', P.principals, renderPrincipals(setup), 0o644);
    await ensureRootDirectory(P.dropInDir, 0o755, changes);
    await put('sshd drop-in', P.dropIn, renderSshdDropIn(), 0o644);
    const config = await fileState(P.sshdConfig);
    if (config === null) throw new SshSetupError('sshd drop-in', `${P.sshdConfig} is missing`);
    const included = withDropInInclude(config.content);
    if (included !== config.content) await put('sshd Include', P.sshdConfig, included, config.mode);
    if (previous.size > 0) await checkSshdConfig();
  } catch (err) {
    await restore(previous);
    throw err;
  }
  if (previous.size === 0) return { changes, sshd: 'sshd unchanged' };
  return { changes, sshd: await reloadSshd() };
}

async function ensureAccount(changes: string[]): Promise<void> {
  const plan = accountPlan(await accountState());
  if (plan.kind === 'create') {
    await must('account', 'useradd', plan.args);
    changes.push(`created the account ${SSH_ACCOUNT}`);
  } else if (plan.kind === 'modify') {
    await must('account', 'usermod', plan.args);
    changes.push(`updated the account ${SSH_ACCOUNT}`);
  }
  if (!(await exists(P.home))) {
    try {
      await mkdir(P.home, { mode: 0o750 });
      const ids = await must('account', 'id', ['-u', SSH_ACCOUNT]);
      const gids = await must('account', 'id', ['-g', SSH_ACCOUNT]);
      await chown(P.home, Number(ids.stdout.toString().trim()), Number(gids.stdout.toString().trim()));
    } catch (err) {
      if (err instanceof SshSetupError) throw err;
      throw new SshSetupError('account', `cannot create ${P.home}: ${(err as Error).message}`);
    }
    changes.push(`created ${P.home}`);
  }
}

async function accountState(): Promise<AccountState | null> {
  const passwd = await exec('account', 'getent', ['passwd', SSH_ACCOUNT]);
  if (passwd.code === 2) return null; // getent: key not found
  const entry = passwd.code === 0 ? parsePasswdEntry(passwd.stdout.toString('utf8').split('\n')[0] ?? '') : null;
  if (entry === null) throw new SshSetupError('account', `getent passwd ${SSH_ACCOUNT}: ${output(passwd)}`);
  const shadow = await exec('account', 'getent', ['shadow', SSH_ACCOUNT]);
  const password = shadow.code === 0 ? parseShadowPassword(shadow.stdout.toString('utf8').split('\n')[0] ?? '') : null;
  return { ...entry, password };
}

/** Passwordless sudo, checked by visudo before it is in place (a broken sudoers file locks out every sudo user). */
async function ensureSudoers(changes: string[]): Promise<void> {
  const content = renderSudoers();
  const current = await fileState(P.sudoers);
  const change = fileChange(current, content, 0o440);
  if (change === 'unchanged') return;
  const visudo = await exec('sudoers', 'visudo', ['--version']).catch(() => null);
  if (visudo === null || visudo.code !== 0 || !(await exists('/usr/bin/sudo')))
    throw new SshSetupError('sudoers', 'sudo is not installed (bootstrap.sh installs it; or install the sudo package)');
  try {
    if (change === 'write') {
      await mkdir(P.sudoersDir, { recursive: true, mode: 0o750 });
      await writeFileAtomic(P.sudoers, content, 0o440, {
        validate: async (temp) => {
          const check = await exec('sudoers', 'visudo', ['-c', '-f', temp]);
          if (check.code !== 0) throw new SshSetupError('sudoers', `visudo -cf rejected ${P.sudoers}: ${output(check)}`);
        },
      });
    }
    await chown(P.sudoers, 0, 0);
    await chmod(P.sudoers, 0o440);
  } catch (err) {
    if (err instanceof SshSetupError) throw err;
    throw new SshSetupError('sudoers', `cannot write ${P.sudoers}: ${(err as Error).message}`);
  }
  changes.push(`${current === null ? 'created' : 'updated'} ${P.sudoers}`);
}

async function ensureRootDirectory(path: string, mode: number, changes: string[]): Promise<void> {
  try {
    const info = await stat(path).catch(() => null);
    if (info === null) {
      await mkdir(path, { mode });
      changes.push(`created ${path}`);
    } else if (!info.isDirectory()) {
      throw new Error('exists and is not a directory');
    } else if ((info.mode & 0o7777) === mode && info.uid === 0 && info.gid === 0) {
      return;
    }
    await chown(path, 0, 0);
    await chmod(path, mode);
  } catch (err) {
    throw new SshSetupError('trust files', `cannot prepare ${path}: ${(err as Error).message}`);
  }
}

async function checkSshdConfig(): Promise<void> {
  if (!(await exists(P.privsepDir))) await mkdir(P.privsepDir, { mode: 0o755 }).catch(() => undefined);
  const result = await exec('sshd -t', P.sshd, ['-t']);
  if (result.code !== 0) throw new SshSetupError('sshd -t', `sshd refused the configuration (previous files restored): ${output(result)}`);
}

async function restore(previous: Map<string, FileState | null>): Promise<void> {
  for (const [path, state] of previous) {
    try {
      if (state === null) await unlink(path);
      else {
        await writeFileAtomic(path, state.content, state.mode);
        await chown(path, state.uid, state.gid);
      }
    } catch {
      // Best effort: the error that made us restore is the one to report.
    }
  }
}

/** `systemctl reload` of the ssh or sshd unit, else SIGHUP to the pid in /run/sshd.pid. */
async function reloadSshd(): Promise<string> {
  if (await exists('/run/systemd/system')) {
    for (const unit of ['ssh.service', 'sshd.service']) {
      const load = await exec('sshd reload', 'systemctl', ['show', '--property=LoadState', '--value', unit]);
      if (load.code !== 0 || load.stdout.toString().trim() !== 'loaded') continue;
      const active = await exec('sshd reload', 'systemctl', ['is-active', unit]);
      if (active.stdout.toString().trim() !== 'active') return `sshd is not running (${unit}): the settings apply when it starts`;
      await must('sshd reload', 'systemctl', ['reload', unit]);
      return `reloaded ${unit}`;
    }
  }
  const pidText = await readFile(P.sshdPidFile, 'utf8').catch(() => '');
  const pid = Number.parseInt(pidText.trim(), 10);
  if (!Number.isInteger(pid) || pid <= 1) return 'sshd is not running: the settings apply when it starts';
  try {
    process.kill(pid, 'SIGHUP');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return 'sshd is not running: the settings apply when it starts';
    throw new SshSetupError('sshd reload', `cannot signal sshd (pid ${pid}): ${(err as Error).message}`);
  }
  return `sent SIGHUP to sshd (pid ${pid})`;
}
