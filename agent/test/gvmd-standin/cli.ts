import { randomUUID } from 'node:crypto';
import { chmod, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { deleteUser } from './permissions.js';
import type { GvmdStandin } from './server.js';

/**
 * gvmd's command line for the stand-in: a small shell script, run inside the stand-in gvmd
 * container (`docker exec -u gvmd … gvmd --create-user=…`), that hands its arguments to the
 * stand-in through gvmd's run directory (the directory of the GMP socket, shared by the container
 * and the test) and prints the stand-in's answer with its exit code. It uses only the shell's
 * builtins and `sleep`, so the lab's busybox image can run it.
 *
 * What it imitates of gvmd (gvmd --help and its manage_create_user/manage_delete_user):
 * `--create-user=NAME [--role=ROLE] [--password=PW]` creates a user, printing the generated
 * password when none was given (so callers must not pass gvmd's output on); an existing name
 * fails ("User exists already."); `--user=NAME --new-password=PW` sets a password, failing for an
 * unknown user; `--delete-user=NAME [--inheritor=NAME]` removes a user, handing its permissions to
 * the inheritor. Roles and what they allow: permissions.ts.
 */
export const GVMD_CLI_SCRIPT = `#!/bin/sh
# Stand-in gvmd command line (agent/test/gvmd-standin/cli.ts).
dir="\${XSPECTRE_STANDIN_CLI_DIR:-/run/gvmd}"
req="$dir/gvmd-cli-$$"
: > "$req.args" || exit 70
for a in "$@"; do printf '%s\\n' "$a" >> "$req.args"; done
: > "$req.ready"
n=0
while ! test -e "$req.rc"; do
  n=$((n + 1))
  if test "$n" -gt 300; then echo "stand-in gvmd did not answer" >&2; exit 70; fi
  sleep 0.1
done
while IFS= read -r line; do printf '%s\\n' "$line"; done < "$req.out"
read -r rc < "$req.rc"
exit "$rc"
`;

/** The uid/gid of the container user `gvmd` in the files below. */
export const GVMD_UID = 1001;

/**
 * Files the gvmd container's image must hold for `docker exec -u gvmd`: the engine looks the
 * user up in the image's own /etc/passwd, not in a bind mount over it (Docker 20.10).
 */
export const GVMD_IMAGE_FILES: Record<string, string> = {
  '/etc/passwd': `root:x:0:0:root:/root:/bin/sh\ngvmd:x:${GVMD_UID}:${GVMD_UID}:gvmd:/var/lib/gvm:/bin/sh\n`,
  '/etc/group': `root:x:0:\ngvmd:x:${GVMD_UID}:\n`,
};

/** Writes the script into `dir`; returns its bind mount for the gvmd container (`HOST:CONTAINER:ro`). */
export async function prepareGvmdCliFiles(dir: string): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'gvmd'), GVMD_CLI_SCRIPT, { mode: 0o755 });
  await chmod(join(dir, 'gvmd'), 0o755);
  return [`${join(dir, 'gvmd')}:/usr/local/bin/gvmd:ro`];
}

export interface GvmdCliCall {
  args: string[];
  exitCode: number;
}

export interface GvmdCliWatcher {
  /** Every call, in order; passwords in the arguments as given (the test's own view). */
  calls: GvmdCliCall[];
  /** Roles given at --create-user, by user name. */
  roles: Map<string, string>;
  stop(): Promise<void>;
}

const ROLES = new Set(['Admin', 'User', 'Observer', 'Super Admin', 'Guest', 'Info', 'Monitor']);

function answer(standin: GvmdStandin, roles: Map<string, string>, args: string[]): { out: string; code: number } {
  const option = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  const create = option('create-user');
  if (create !== undefined) {
    const role = option('role') ?? 'Admin';
    if (!ROLES.has(role)) return { out: 'Failed to find role.', code: 1 };
    if (create === '' || standin.users.some((u) => u.username === create)) return { out: 'User exists already.', code: 1 };
    const given = option('password');
    const password = given ?? randomUUID();
    standin.users.push({ username: create, password, role });
    roles.set(create, role);
    return { out: given === undefined ? `User created with password '${password}'.` : 'User created.', code: 0 };
  }
  const user = option('user');
  const newPassword = option('new-password');
  if (user !== undefined && newPassword !== undefined) {
    const found = standin.users.find((u) => u.username === user);
    if (!found) return { out: 'Failed to modify user.', code: 1 };
    found.password = newPassword;
    return { out: '', code: 0 };
  }
  const removed = option('delete-user');
  if (removed !== undefined) {
    const problem = deleteUser(standin, removed, option('inheritor'));
    return problem === null ? { out: 'User deleted.', code: 0 } : { out: problem, code: 1 };
  }
  return { out: `stand-in gvmd: unsupported arguments ${args.map((a) => a.split('=')[0]).join(' ')}`, code: 2 };
}

/**
 * Serves the script's requests from `dir` (gvmd's run directory), applying them to the
 * stand-in's users. The directory is made writable for the container's gvmd user.
 */
export async function startGvmdCliWatcher(standin: GvmdStandin, dir: string, pollMs = 50): Promise<GvmdCliWatcher> {
  await chmod(dir, 0o1777);
  const watcher: GvmdCliWatcher = { calls: [], roles: new Map(), stop: async () => undefined };
  const answered: string[] = [];
  let busy = false;
  const tick = async () => {
    if (busy) return;
    busy = true;
    try {
      for (const name of await readdir(dir)) {
        if (!name.startsWith('gvmd-cli-') || !name.endsWith('.ready')) continue;
        const base = join(dir, name.slice(0, -'.ready'.length));
        const raw = await readFile(`${base}.args`, 'utf8').catch(() => '');
        await rm(`${base}.ready`, { force: true });
        await rm(`${base}.args`, { force: true });
        const args = raw.split('\n').filter((a, i, all) => a !== '' || i < all.length - 1);
        const { out, code } = answer(standin, watcher.roles, args);
        watcher.calls.push({ args, exitCode: code });
        await writeFile(`${base}.out`, out === '' ? '' : `${out}\n`, { mode: 0o644 });
        await writeFile(`${base}.rc.tmp`, `${code}\n`, { mode: 0o644 });
        await rename(`${base}.rc.tmp`, `${base}.rc`); // whole, or not there yet: the script polls for it
        answered.push(base);
      }
    } catch {
      // the directory went away (teardown)
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(() => void tick(), pollMs);
  watcher.stop = async () => {
    clearInterval(timer);
    for (const base of answered) {
      await rm(`${base}.out`, { force: true });
      await rm(`${base}.rc`, { force: true });
    }
  };
  return watcher;
}
