import { randomBytes } from 'node:crypto';
import { DEFAULT_COMMAND_TIMEOUT_MS, GmpConnection } from '../gmp/client.js';
import { attr, child, childText, children } from '../gmp/nodes.js';
import { authenticateCommand, escapeText, gmpElement } from '../gmp/request.js';
import type { GvmdCliResult } from './gvmd-cli.js';
import { scrub } from './gvmd-cli.js';

/**
 * Lets the Observer monitor account read every task without letting it change anything.
 *
 * gvmd checks two things (its manage_acl.c): whether the user's roles allow the command at all
 * (an Observer's allow get_* only, never create/modify/delete/start), and whether the user may
 * see the object: its own, shared with it, or owned by someone it holds the `Super` permission
 * on (a user, or every user with a role). So the account gets `Super` on the roles Admin and User,
 * which own the tasks of a community install; its Observer role still allows only reading.
 *
 * Only a Super Admin may grant `Super` (manage_sql_permissions.c), and gvmd's command line
 * cannot create permissions: a temporary Super Admin with a random password is created with
 * gvmd's command line, grants over GMP, and is deleted at once with the monitor account as its
 * inheritor (gvmd deletes the permissions a deleted user created unless someone inherits them).
 */
export const SUPER_ON_ROLES = [
  { name: 'Admin', id: '7a8cb5b4-b74d-11e2-8187-406186ea4fc5' },
  { name: 'User', id: '8d453140-b74d-11e2-b0be-406186ea4fc5' },
] as const;

export interface GrantOptions {
  socketPath: string;
  monitorUsername: string;
  cli: (args: string[]) => Promise<GvmdCliResult>;
  commandTimeoutMs?: number;
}

export interface GrantOutcome {
  /** Roles whose users' objects the account now reads (granted now or before). */
  roles: string[];
  granted: number;
}

export class GrantError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GrantError';
  }
}

export async function grantReadEverything(options: GrantOptions): Promise<GrantOutcome> {
  const name = `xspectre-grant-${randomBytes(4).toString('hex')}`;
  const password = randomBytes(32).toString('base64url');
  const secrets = [password];
  const created = await options.cli([`--create-user=${name}`, '--role=Super Admin', `--password=${password}`]);
  if (created.exitCode !== 0)
    throw new GrantError(
      `gvmd --create-user (temporary Super Admin) exited ${created.exitCode ?? '?'}: ${scrub(`${created.stdout} ${created.stderr}`, secrets) || 'no output'}`,
    );
  let outcome: GrantOutcome | undefined;
  let failure: unknown;
  try {
    outcome = await grantOverGmp(options, name, password);
  } catch (err) {
    failure = err;
  }
  // Always: the temporary account goes; the monitor inherits the permissions it created.
  const deleted = await options.cli([`--delete-user=${name}`, `--inheritor=${options.monitorUsername}`]).catch((err: unknown) => ({
    exitCode: null,
    stdout: '',
    stderr: err instanceof Error ? err.message : String(err),
  }));
  if (deleted.exitCode !== 0)
    throw new GrantError(
      `the temporary Super Admin ${name} could not be deleted (delete it by hand): ${scrub(`${deleted.stdout} ${deleted.stderr}`, secrets) || 'no output'}`,
    );
  if (failure !== undefined) throw new GrantError(scrub(failure instanceof Error ? failure.message : String(failure), secrets, 400));
  return outcome!;
}

async function grantOverGmp(options: GrantOptions, username: string, password: string): Promise<GrantOutcome> {
  const timeout = options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
  const connection = await GmpConnection.connect({ socketPath: options.socketPath });
  try {
    await connection.send('authenticate', authenticateCommand(username, password), timeout);
    const users = await connection.send(
      'get_users',
      gmpElement('get_users', { filter: `name="${options.monitorUsername}" rows=10 first=1` }),
      timeout,
    );
    const monitorId = children(users.root, 'user')
      .filter((u) => childText(u, 'name') === options.monitorUsername)
      .map((u) => attr(u, 'id'))[0];
    if (!monitorId) throw new GrantError(`gvmd does not list the user ${options.monitorUsername}`);
    const existing = await connection.send(
      'get_permissions',
      gmpElement('get_permissions', { filter: `name=Super rows=1000 first=1` }),
      timeout,
    );
    const held = new Set(
      children(existing.root, 'permission')
        .filter((p) => childText(p, 'name') === 'Super' && attr(child(p, 'subject'), 'id') === monitorId)
        .map((p) => attr(child(p, 'resource'), 'id')),
    );
    let granted = 0;
    for (const role of SUPER_ON_ROLES) {
      if (held.has(role.id)) continue;
      const body =
        gmpElement('name', {}, 'Super') +
        gmpElement('comment', {}, escapeText('xspectre monitor: read-only (Observer role) view of every task')) +
        gmpElement('subject', { id: monitorId }, gmpElement('type', {}, 'user')) +
        gmpElement('resource', { id: role.id }, gmpElement('type', {}, 'role'));
      await connection.send('create_permission', gmpElement('create_permission', {}, body), timeout);
      granted++;
    }
    return { roles: SUPER_ON_ROLES.map((r) => r.name), granted };
  } finally {
    connection.close();
  }
}
