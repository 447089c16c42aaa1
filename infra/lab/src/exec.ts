// Running commands: argument arrays only (never a shell string), every run bounded in time.
import { spawn } from 'node:child_process';

export interface RunOptions {
  /** Kills the command (SIGKILL) after this long. Default 30 s. */
  timeoutMs?: number;
  input?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export interface RunResult {
  /** -1 when the command could not be started or was killed. */
  exitCode: number;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

const MAX_OUTPUT = 4 * 1024 * 1024;

export class LabCommandError extends Error {
  constructor(
    readonly command: string[],
    readonly result: RunResult,
  ) {
    const why = result.timedOut ? 'timed out' : `exit ${result.exitCode}`;
    super(`${command.join(' ')} failed (${why}): ${(result.stderr || result.stdout).trim().slice(-2000) || 'no output'}`);
  }
}

/** Runs a command; never throws (a missing binary is exit -1 with the error in stderr). */
export function run(file: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(file, args, {
      stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      env: options.env ?? process.env,
      cwd: options.cwd,
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    let settled = false;
    let exitCode = -1;
    // A grandchild that keeps our stdout/stderr open must not hold us: give up on the pipes
    // a moment after the child exits, or after the kill on timeout.
    let grace: NodeJS.Timeout | undefined;
    const giveUpOnPipes = () => {
      grace ??= setTimeout(() => {
        child.stdout?.destroy();
        child.stderr?.destroy();
        finish(exitCode);
      }, 2000);
    };
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
      giveUpOnPipes();
    }, options.timeoutMs ?? 30_000);
    const finish = (code: number) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(grace);
      resolve({ exitCode: timedOut ? -1 : code, stdout, stderr, timedOut });
    };
    child.on('exit', (code, signal) => {
      exitCode = code ?? (signal ? -1 : 0);
      giveUpOnPipes();
    });
    child.stdout?.on('data', (chunk: Buffer) => {
      if (stdout.length < MAX_OUTPUT) stdout += chunk.toString();
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      if (stderr.length < MAX_OUTPUT) stderr += chunk.toString();
    });
    child.on('error', (error) => {
      stderr += `${error.message}\n`;
      finish(-1);
    });
    child.on('close', (code, signal) => finish(code ?? (signal ? -1 : exitCode)));
    if (options.input !== undefined) {
      child.stdin?.on('error', () => undefined);
      child.stdin?.end(options.input);
    }
  });
}

/** Runs a command and returns its stdout; throws LabCommandError when it fails. */
export async function must(file: string, args: readonly string[], options: RunOptions = {}): Promise<string> {
  const result = await run(file, args, options);
  if (result.exitCode !== 0) throw new LabCommandError([file, ...args], result);
  return result.stdout;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls `check` until it returns true or `timeoutMs` passes; returns whether it succeeded. */
export async function waitFor(check: () => Promise<boolean>, timeoutMs: number, intervalMs = 200): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() >= deadline) return false;
    await sleep(intervalMs);
  }
}
