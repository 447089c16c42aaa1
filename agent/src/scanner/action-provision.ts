import { randomBytes } from 'node:crypto';
import { DEFAULT_COMMAND_TIMEOUT_MS, GmpConnection } from '../gmp/client.js';
import { GmpError } from '../gmp/errors.js';
import { authenticateCommand } from '../gmp/request.js';
import type { GreenboneInstall } from './discovery.js';
import { runGvmdCli, scrub, type HostRun } from './gvmd-cli.js';
import { MONITOR_USERNAME, monitorAccountPath, writeMonitorAccount } from './monitor-account.js';

/**
 * `scanner.provision-monitor`: the least-privilege gvmd account the agent polls with.
 *
 * Role: gvmd's built-in `Observer`, whose command permissions are get_* (and authenticate,
 * help, …) only, so whatever objects it can see it can change nothing: gvmd checks the command
 * permission of the role first (user_may() in gvmd's manage_acl.c). Its limit: an Observer sees
 * only its own objects and those shared with it, so on an install whose tasks belong to `admin`
 * it sees none of them until a Super Admin grants it gvmd's `Super` permission on the owner
 * (resource type user, e.g. admin), which opens that owner's objects to the grantee while the
 * Observer role still allows only reading. gvmd's command line cannot create permissions, so this
 * action cannot grant it without an admin GMP session; the command's output says so.
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
  /** Where the secret is kept (root-only). */
  file: string;
  note: string;
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
    file: monitorAccountPath(options.stateDir),
    note: 'an Observer sees only what is shared with it: grant it gvmd\u2019s Super permission on the task owners to see every task',
  };
}
