import { spawn, type ChildProcess } from 'node:child_process';
import { access, chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { constants } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import type { RecoverySshSetup } from '@xspectre/contracts';
import { runProcess, type ProcessResult } from '../commands/run-process.js';
import type { Field } from './console-line.js';
import {
  parseEd25519PublicKey,
  recoverySshPaths,
  renderRecoveryPrincipals,
  renderRecoverySshdConfig,
  renderRecoveryUserCa,
  SSH_KEYGEN_PATH,
  SSHD_PATH,
  type RecoverySshPaths,
} from './ssh-config.js';

/**
 * The recovery shell's sshd on the host (issue 16 item 6): before registering, a fresh Ed25519
 * host key in the RAM run directory (its public half goes into the registration, where the API
 * pins it for this boot); after it, the config with the API's user CA and the stick's principal,
 * `sshd -t`, then `sshd -D` as a supervised child: restarted with backoff when it dies, stopped on
 * shutdown. Without sshd or ssh-keygen (an image without openssh-server, a workstation) the shell
 * is `unavailable` and everything else runs as before. Argument arrays only, never a shell.
 */

export type Runner = (file: string, args: readonly string[]) => Promise<ProcessResult>;
const defaultRunner: Runner = (file, args) => runProcess(file, args, { timeoutMs: 30_000, maxBytes: 16 * 1024 });

export interface RecoveryShellOptions {
  runDir: string;
  sshd?: string;
  sshKeygen?: string;
  run?: Runner;
  say: (event: string, fields?: Record<string, Field>) => void;
  /** Restart backoff bounds (tests shorten them). */
  minRestartMs?: number;
  maxRestartMs?: number;
}

const failed = (r: ProcessResult) => r.error !== undefined || r.code !== 0;
const why = (r: ProcessResult) => (r.error ?? r.stderr.toString('utf8').replace(/\s+/g, ' ').trim().slice(0, 300)) || `exit ${r.code}`;

async function executable(path: string): Promise<boolean> {
  return access(path, constants.X_OK).then(
    () => true,
    () => false,
  );
}

export class RecoveryShell {
  readonly paths: RecoverySshPaths;
  private readonly run: Runner;
  private readonly sshd: string;
  private readonly sshKeygen: string;
  private child: ChildProcess | undefined;
  private stopped = false;
  private supervisor: Promise<void> | undefined;
  private readonly stopping = new AbortController();

  constructor(private readonly options: RecoveryShellOptions) {
    this.paths = recoverySshPaths(options.runDir);
    this.run = options.run ?? defaultRunner;
    this.sshd = options.sshd ?? SSHD_PATH;
    this.sshKeygen = options.sshKeygen ?? SSH_KEYGEN_PATH;
  }

  /** The host key of this boot (`ssh-ed25519 …`), or null with the reason when this stick has no shell. */
  async prepareHostKey(): Promise<{ hostKey: string } | { hostKey: null; reason: string }> {
    if (!(await executable(this.sshd))) return { hostKey: null, reason: `no OpenSSH server (${this.sshd})` };
    if (!(await executable(this.sshKeygen))) return { hostKey: null, reason: `no ssh-keygen (${this.sshKeygen})` };
    await mkdir(this.paths.dir, { recursive: true, mode: 0o700 });
    await chmod(this.paths.dir, 0o700);
    // A key of an earlier run would be another boot's: ssh-keygen asks before overwriting, so it goes first.
    await rm(this.paths.hostKey, { force: true });
    await rm(this.paths.hostKeyPublic, { force: true });
    const made = await this.run(this.sshKeygen, ['-q', '-t', 'ed25519', '-N', '', '-C', 'xspectre-recovery', '-f', this.paths.hostKey]);
    if (failed(made)) return { hostKey: null, reason: `ssh-keygen failed: ${why(made)}` };
    const hostKey = parseEd25519PublicKey(await readFile(this.paths.hostKeyPublic, 'utf8').catch(() => ''));
    if (!hostKey) return { hostKey: null, reason: 'ssh-keygen wrote no ed25519 public key' };
    return { hostKey };
  }

  /** Writes the trust files and the config, has sshd check them, then keeps `sshd -D` running until stop(). */
  async start(setup: RecoverySshSetup, listenAddress: string): Promise<void> {
    const config = renderRecoverySshdConfig(listenAddress, this.paths);
    await writeFile(this.paths.userCa, renderRecoveryUserCa(setup), { mode: 0o600 });
    await writeFile(this.paths.principals, renderRecoveryPrincipals(setup), { mode: 0o600 });
    await writeFile(this.paths.config, config, { mode: 0o600 });
    // sshd refuses to start without its privilege separation directory (Debian: /run/sshd).
    await mkdir('/run/sshd', { recursive: true, mode: 0o755 }).catch(() => undefined);
    const check = await this.run(this.sshd, ['-t', '-f', this.paths.config]);
    if (failed(check)) throw new Error(`sshd refused the configuration: ${why(check)}`);
    await this.stopLeftover();
    this.supervisor = this.supervise();
  }

  private async supervise(): Promise<void> {
    const min = this.options.minRestartMs ?? 1000;
    const max = this.options.maxRestartMs ?? 30_000;
    for (let restarts = 0; !this.stopped; restarts++) {
      const startedAt = Date.now();
      const exit = await this.once();
      if (this.stopped) return;
      // A run that lasted a minute was healthy: start the backoff again.
      if (Date.now() - startedAt > 60_000) restarts = 0;
      const wait = Math.min(max, min * 2 ** Math.min(restarts, 10));
      this.options.say('shell restart', { reason: exit, retry_s: Math.round(wait / 1000) });
      await delay(wait, undefined, { signal: this.stopping.signal }).catch(() => undefined);
    }
  }

  /** One `sshd -D -e` until it exits; resolves with why. Its log (stderr) goes to the agent's lines, bounded. */
  private once(): Promise<string> {
    return new Promise((resolve) => {
      const child = spawn(this.sshd, ['-D', '-e', '-f', this.paths.config], { stdio: ['ignore', 'ignore', 'pipe'] });
      this.child = child;
      this.options.say('shell ok', { pid: child.pid ?? 'unknown', sshd: this.sshd });
      let pending = '';
      child.stderr?.setEncoding('utf8');
      child.stderr?.on('data', (chunk: string) => {
        pending = (pending + chunk).slice(-8192);
        let newline;
        while ((newline = pending.indexOf('\n')) >= 0) {
          const line = pending.slice(0, newline).trim();
          pending = pending.slice(newline + 1);
          if (line) this.options.say('sshd', { line: line.slice(0, 300) });
        }
      });
      child.once('error', (error) => resolve(`sshd could not run: ${error.message}`));
      child.once('exit', (code, signal) => {
        this.child = undefined;
        resolve(signal ? `sshd ended by ${signal}` : `sshd exited with ${code}`);
      });
    });
  }

  /**
   * An sshd an earlier run of the agent left (killed without its shutdown) holds the address: it
   * goes if its pid file names a process started with this very config file (never another sshd).
   */
  private async stopLeftover(): Promise<void> {
    const pid = Number.parseInt((await readFile(this.paths.pidFile, 'utf8').catch(() => '')).trim(), 10);
    if (!Number.isInteger(pid) || pid <= 1) return;
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    // sshd's listener rewrites its title ("sshd: /usr/sbin/sshd -D -e -f <config> [listener] …"): NULs or spaces.
    if (!cmdline.split(/[\0 ]/).includes(this.paths.config)) return;
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      return;
    }
    this.options.say('shell leftover stopped', { pid });
    for (let i = 0; i < 50 && (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')) !== ''; i++) await delay(100);
  }

  /** Stops sshd (TERM, then KILL after 5 s) and the supervisor; the run directory goes with the boot. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.stopping.abort();
    const child = this.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await gone;
      clearTimeout(timer);
    }
    await this.supervisor;
  }

  /** The running sshd's pid (tests). */
  get pid(): number | undefined {
    return this.child?.pid;
  }
}
