import { spawn } from 'node:child_process';
import { mkdir, open, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ensureDirectory, writeFileAtomic } from '../atomic-file.js';
import { LineSplitter } from './restic-progress.js';
import { prepareTargetArgs, resticEnvironmentFile, resticSystemdRunArgs, resticUnitName, type ResticStep } from './restic-unit.js';

/** restic's environment: the repository (with the forwarder's one-run credential), the password file, the cache. */
export interface ResticEnvironment {
  RESTIC_REPOSITORY: string;
  RESTIC_PASSWORD_FILE: string;
  RESTIC_CACHE_DIR: string;
}

export interface ResticInvocation {
  commandId: string;
  step: ResticStep;
  args: readonly string[];
  env: ResticEnvironment;
  /** What restic may write where it runs sandboxed (the cache; a restore's target). */
  readWritePaths: readonly string[];
  onLine?: (line: string) => void;
  /** Longer stdout lines are skipped whole (default MAX_PROGRESS_LINE; `snapshots --json` is one long line). */
  maxLine?: number;
  /** Stops restic (agent shutdown). */
  signal?: AbortSignal;
}

export interface ResticResult {
  /** restic's exit status (null: it did not start or was killed). */
  code: number | null;
  /** The last 16 KiB of restic's stderr: what it said went wrong. */
  stderrTail: string;
}

/**
 * Where restic runs: a transient systemd unit when PID 1 is systemd, else a child process of
 * the agent (a device whose agent runs in a plain container). The rest of the code is the same.
 */
export interface ResticLauncher {
  readonly kind: 'systemd' | 'process';
  run(invocation: ResticInvocation): Promise<ResticResult>;
  /** Creates a restore's alternate directory (0700) where restic runs; throws with the reason when it cannot. */
  prepareTarget(commandId: string, target: string): Promise<void>;
}

export const STDERR_TAIL = 16 * 1024;
const tail = (text: string) => text.slice(-STDERR_TAIL);

/** restic as a child process, with only its own environment (no sandbox of its own: the agent's applies). */
export function processLauncher(restic: string): ResticLauncher {
  return {
    kind: 'process',
    prepareTarget: async (_commandId, target) => void (await mkdir(target, { recursive: true, mode: 0o700 })),
    run: (invocation) =>
      new Promise<ResticResult>((resolve) => {
        const child = spawn(restic, [...invocation.args], {
          stdio: ['ignore', 'pipe', 'pipe'],
          env: {
            PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
            HOME: process.env.HOME ?? '/root',
            LC_ALL: 'C',
            ...invocation.env,
          },
        });
        const onAbort = () => child.kill('SIGTERM');
        invocation.signal?.addEventListener('abort', onAbort, { once: true });
        const lines = new LineSplitter(invocation.maxLine);
        let stderr = '';
        child.stdout.setEncoding('utf8').on('data', (chunk: string) => lines.push(chunk, (line) => invocation.onLine?.(line)));
        child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr = tail(stderr + chunk)));
        const done = (result: ResticResult) => {
          invocation.signal?.removeEventListener('abort', onAbort);
          resolve(result);
        };
        child.on('error', (error: NodeJS.ErrnoException) =>
          done({ code: null, stderrTail: error.code === 'ENOENT' ? `${restic} is not installed` : error.message }),
        );
        child.on('close', (code) => {
          // A last line without its newline still counts.
          lines.push('\n', (line) => line && invocation.onLine?.(line));
          done({ code, stderrTail: stderr });
        });
      }),
  };
}

/**
 * restic in a transient unit (restic-unit.ts). Its stdout goes to a file that is followed for
 * progress lines; its environment file and output files live in `runDir` (0700) and are removed
 * when the step ends.
 */
export function systemdLauncher(restic: string, runDir: string, pollMs = 500): ResticLauncher {
  return {
    kind: 'systemd',
    async prepareTarget(commandId, target) {
      const made = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
        const child = spawn('systemd-run', prepareTargetArgs(resticUnitName(commandId, 'prepare'), target), {
          stdio: ['ignore', 'ignore', 'pipe'],
        });
        let stderr = '';
        child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr = tail(stderr + chunk)));
        child.on('error', (error) => resolve({ code: null, stderr: error.message }));
        child.on('close', (code) => resolve({ code, stderr }));
      });
      if (made.code !== 0) throw new Error(`cannot create ${target}: ${made.stderr.trim().split('\n').at(-1) || `exit ${made.code}`}`);
    },
    async run(invocation) {
      await ensureDirectory(runDir);
      const unit = resticUnitName(invocation.commandId, invocation.step);
      const base = join(runDir, `${invocation.commandId}-${invocation.step}`);
      const files = { env: `${base}.env`, stdout: `${base}.stdout`, stderr: `${base}.stderr` };
      await Promise.all([rm(files.stdout, { force: true }), rm(files.stderr, { force: true })]);
      await writeFileAtomic(files.env, resticEnvironmentFile({ ...invocation.env, LC_ALL: 'C' }), 0o600);
      const args = resticSystemdRunArgs({
        unit,
        description: `xSPECTRE restic ${invocation.step} (command ${invocation.commandId})`,
        environmentFile: files.env,
        stdoutPath: files.stdout,
        stderrPath: files.stderr,
        readWritePaths: invocation.readWritePaths,
        command: [restic, ...invocation.args],
      });
      const follower = new FileFollower(files.stdout, invocation.onLine, invocation.maxLine);
      const timer = setInterval(() => void follower.poll(), pollMs);
      const onAbort = () => void spawn('systemctl', ['stop', '--', unit], { stdio: 'ignore' }).on('error', () => undefined);
      invocation.signal?.addEventListener('abort', onAbort, { once: true });
      try {
        const started = await new Promise<{ code: number | null; error?: string; stderr: string }>((resolve) => {
          const child = spawn('systemd-run', args, { stdio: ['ignore', 'ignore', 'pipe'] });
          let stderr = '';
          child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr = tail(stderr + chunk)));
          child.on('error', (error) => resolve({ code: null, error: error.message, stderr }));
          child.on('close', (code) => resolve({ code, stderr }));
        });
        clearInterval(timer);
        // Twice: a read under way when restic ended may have stopped short of its last lines.
        await follower.poll();
        await follower.poll();
        follower.end();
        const stderr = await readFile(files.stderr, 'utf8').catch(() => '');
        const own = tail(stderr);
        if (started.error) return { code: null, stderrTail: `systemd-run: ${started.error}` };
        return { code: started.code, stderrTail: own.trim() === '' ? started.stderr : own };
      } finally {
        clearInterval(timer);
        invocation.signal?.removeEventListener('abort', onAbort);
        await Promise.all(Object.values(files).map((path) => rm(path, { force: true })));
      }
    },
  };
}

/** Reads what was appended to a file since the last poll and hands it on line by line. */
class FileFollower {
  private offset = 0;
  private reading: Promise<void> | undefined;
  private readonly lines: LineSplitter;
  private readonly decoder = new TextDecoder('utf-8');

  constructor(
    private readonly path: string,
    private readonly onLine: ((line: string) => void) | undefined,
    maxLine?: number,
  ) {
    this.lines = new LineSplitter(maxLine);
  }

  poll(): Promise<void> {
    this.reading ??= this.read().finally(() => (this.reading = undefined));
    return this.reading;
  }

  end(): void {
    this.lines.push(`${this.decoder.decode()}\n`, (line) => line && this.onLine?.(line));
  }

  private async read(): Promise<void> {
    const handle = await open(this.path, 'r').catch(() => undefined);
    if (!handle) return;
    try {
      const buffer = Buffer.alloc(64 * 1024);
      for (;;) {
        const { bytesRead } = await handle.read(buffer, 0, buffer.length, this.offset);
        if (bytesRead === 0) return;
        this.offset += bytesRead;
        this.lines.push(this.decoder.decode(buffer.subarray(0, bytesRead), { stream: true }), (line) => this.onLine?.(line));
      }
    } finally {
      await handle.close();
    }
  }
}
