import { randomBytes } from 'node:crypto';
import { DEFAULT_COMMAND_TIMEOUT_MS, GmpConnection } from '../gmp/client.js';
import { GmpError } from '../gmp/errors.js';
import { authenticateCommand } from '../gmp/request.js';
import type { GreenboneInstall } from './discovery.js';
import { grantReadEverything } from './action-grant.js';
import { runGvmdCli, scrub, type HostRun } from './gvmd-cli.js';
import { MONITOR_USERNAME, monitorAccountPath, writeMonitorAccount } from './monitor-account.js';

/**
 * `scanner.provision-monitor`: the least-privilege gvmd account the agent polls with.
 *
 * Role: gvmd's built-in `Observer`, whose command permissions are get_* (and authenticate,
 * help, its own settings) only, so whatever objects it can see it can change nothing: gvmd checks
 * the role's command permission first (user_may() in gvmd's manage_acl.c). An Observer sees only
 * its own objects and those shared with it, so it is then given gvmd's `Super` permission on the
 * roles that own the tasks (action-grant.ts), which opens their objects to it for reading only.
 *
 * The password: 32 random bytes (base64url), set with gvmd's `--new-password`, stored only in
 * the state directory (0600, monitor-account.ts); never in the output, the log or an error
 * (gvmd's own output is scrubbed of it before anything is reported).
 */
export const MONITOR_ROLE = 'Observer';
export const DEFAULT_ADMIN = { username: 'admin', password: 'admin' } as const;

export interface ProvisionOptions {
  install: GreenboneInstall;
  dockerSocket: string;
  stateDir: string;
  run?: HostRun;
  now?: () => Date;
  newPassword?: () => string;
  commandTimeoutMs?: number;
}

export interface ProvisionReport {
  username: string;
  account: 'created' | 'reset';
  role: string;
  /** true: admin/admin still logs in; false: it does not; null: the check could not tell. */
  defaultAdminPassword: boolean | null;
  defaultAdminCheck: string;
  /** Whether the account was given `Super` (read through its role) on the task owners' roles. */
  readsEveryTask: boolean;
  grant: string;
  /** Where the secret is kept (root-only). */
  file: string;
}

export class ProvisionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProvisionError';
  }
}

/** One GMP login; resolves true when gvmd accepts it, false when it answers "authentication failed", throws otherwise. */
export async function gmpLogin(
  socketPath: string,
  username: string,
  password: string,
  timeoutMs = DEFAULT_COMMAND_TIMEOUT_MS,
): Promise<boolean> {
  const connection = await GmpConnection.connect({ socketPath });
  try {
    await connection.send('authenticate', authenticateCommand(username, password), timeoutMs);
    return true;
  } catch (err) {
    if (err instanceof GmpError && err.code === 'auth_failed' && err.status !== null) return false;
    throw err;
  } finally {
    connection.close();
  }
}

export async function provisionMonitor(options: ProvisionOptions): Promise<ProvisionReport> {
  const { install } = options;
  const password = (options.newPassword ?? (() => randomBytes(32).toString('base64url')))();
  const secrets = [password];
  const cli = (args: string[]) =>
    runGvmdCli(install, args, { dockerSocket: options.dockerSocket, ...(options.run ? { run: options.run } : {}) });

  const created = await cli([`--create-user=${MONITOR_USERNAME}`, `--role=${MONITOR_ROLE}`]);
  const createdText = `${created.stdout}\n${created.stderr}`;
  let account: ProvisionReport['account'];
  if (created.exitCode === 0 && !/exist/i.test(createdText)) account = 'created';
  else if (/exist/i.test(createdText)) account = 'reset';
  else
    throw new ProvisionError(
      `gvmd --create-user exited ${created.exitCode ?? 'without an exit code'}: ${scrub(createdText, secrets) || 'no output'}`,
    );

  const set = await cli([`--user=${MONITOR_USERNAME}`, `--new-password=${password}`]);
  if (set.exitCode !== 0)
    throw new ProvisionError(
      `gvmd --new-password exited ${set.exitCode ?? 'without an exit code'}: ${scrub(`${set.stdout}\n${set.stderr}`, secrets) || 'no output'}`,
    );

  const timeout = options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
  let accepted: boolean;
  try {
    accepted = await gmpLogin(install.socketPath, MONITOR_USERNAME, password, timeout);
  } catch (err) {
    throw new ProvisionError(
      `the account was set, but logging in over GMP failed: ${err instanceof Error ? scrub(err.message, secrets) : 'error'}`,
    );
  }
  if (!accepted) throw new ProvisionError('gvmd does not accept the password it was just given (authentication failed)');

  let readsEveryTask: boolean;
  let grant: string;
  try {
    const outcome = await grantReadEverything({
      socketPath: install.socketPath,
      monitorUsername: MONITOR_USERNAME,
      cli,
      commandTimeoutMs: timeout,
    });
    readsEveryTask = true;
    grant = `Super on the roles ${outcome.roles.join(', ')}${outcome.granted === 0 ? ' (granted before)' : ''}; reads only (Observer)`;
  } catch (err) {
    readsEveryTask = false;
    grant = `not granted: ${scrub(err instanceof Error ? err.message : String(err), secrets, 400)}`;
  }

  let defaultAdminPassword: boolean | null;
  let defaultAdminCheck: string;
  try {
    defaultAdminPassword = await gmpLogin(install.socketPath, DEFAULT_ADMIN.username, DEFAULT_ADMIN.password, timeout);
    defaultAdminCheck = defaultAdminPassword ? 'admin/admin logs in: change the admin password' : 'admin/admin is refused';
  } catch (err) {
    defaultAdminPassword = null;
    defaultAdminCheck = `could not tell: ${err instanceof GmpError ? err.code : 'error'}`;
  }

  const now = (options.now ?? (() => new Date()))().toISOString();
  await writeMonitorAccount(options.stateDir, {
    username: MONITOR_USERNAME,
    password,
    createdAt: now,
    defaultAdminPassword,
    checkedAt: defaultAdminPassword === null ? null : now,
  });
  return {
    username: MONITOR_USERNAME,
    account,
    role: MONITOR_ROLE,
    defaultAdminPassword,
    defaultAdminCheck,
    readsEveryTask,
    grant,
    file: monitorAccountPath(options.stateDir),
  };
}
