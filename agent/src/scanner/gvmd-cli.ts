import type { GreenboneInstall } from './discovery.js';
import { engineExec } from './action-docker.js';
import { runProcess, type ProcessResult } from '../commands/run-process.js';

/**
 * gvmd's own command line, as the vendor's documentation uses it for the admin user: inside the
 * gvmd container as its `gvmd` user (`docker compose exec -u gvmd gvmd gvmd --user=admin
 * --new-password=…`), or on the host as gvmd's service user for a source install. Always an
 * argument array; a result carries the exit code and output, which callers must scrub of any
 * secret they passed in.
 */
export const GVMD_CLI_TIMEOUT_MS = 120_000;
/** The user gvmd runs as: `gvmd` in the community containers; `_gvm` (Debian/Kali packages) or `gvm` (the source build guide) on hosts. */
export const GVMD_CONTAINER_USER = 'gvmd';
export const GVMD_HOST_USERS = ['_gvm', 'gvm'] as const;

export interface GvmdCliResult {
  exitCode: number | null;
  stdout: string;
  stderr: string;
}

export type HostRun = (file: string, args: readonly string[], options: { timeoutMs: number; maxBytes: number }) => Promise<ProcessResult>;

export interface GvmdCliOptions {
  dockerSocket: string;
  /** Runs a program on the host (default runProcess); used for source installs only. */
  run?: HostRun;
  timeoutMs?: number;
}

export class GvmdCliError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GvmdCliError';
  }
}

/** Runs `gvmd <args>` where this install's gvmd lives; rejects when it cannot be started at all. */
export async function runGvmdCli(install: GreenboneInstall, args: readonly string[], options: GvmdCliOptions): Promise<GvmdCliResult> {
  const timeoutMs = options.timeoutMs ?? GVMD_CLI_TIMEOUT_MS;
  if (install.method === 'compose') {
    if (!install.gvmdContainerId) throw new GvmdCliError('the gvmd container was not discovered');
    return engineExec(options.dockerSocket, install.gvmdContainerId, ['gvmd', ...args], { user: GVMD_CONTAINER_USER, timeoutMs });
  }
  if (install.method === 'systemd') {
    const run = options.run ?? runProcess;
    const bounds = { timeoutMs: 10_000, maxBytes: 4096 };
    let user: string | null = null;
    for (const candidate of GVMD_HOST_USERS) {
      if ((await run('id', ['-u', '--', candidate], bounds)).code === 0) {
        user = candidate;
        break;
      }
    }
    if (user === null) throw new GvmdCliError(`gvmd's service user (${GVMD_HOST_USERS.join(' or ')}) does not exist on this host`);
    // runuser: no password prompt, no PAM session for root, and still an argument array.
    const result = await run('runuser', ['-u', user, '--', 'gvmd', ...args], { timeoutMs, maxBytes: 64 * 1024 });
    if (result.error) throw new GvmdCliError(`gvmd could not be run: ${result.error}`);
    return { exitCode: result.code, stdout: result.stdout.toString('utf8'), stderr: result.stderr.toString('utf8') };
  }
  throw new GvmdCliError('gvmd was found only through a configured socket: its command line is not reachable from the agent');
}

/** Output safe to report: every occurrence of each secret replaced, one line, bounded. */
export function scrub(text: string, secrets: readonly string[], max = 300): string {
  let clean = text;
  for (const secret of secrets) if (secret !== '') clean = clean.split(secret).join('[redacted]');
  // gvmd --create-user prints the password it generated: never pass one on, whatever it is.
  clean = clean.replace(/password\s*'[^']*'/gi, "password '[redacted]'");
  return clean.replace(/\s+/g, ' ').trim().slice(0, max);
}
