import { spawn } from 'node:child_process';

export interface ProcessResult {
  /** Exit code, or null when killed by a signal or never started. */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: Buffer;
  /** Set when the output was longer than kept. */
  stdoutCut: boolean;
  stderrCut: boolean;
  /** Why it did not run to its end: not found, timed out. */
  error?: string;
}

export interface RunOptions {
  timeoutMs: number;
  /** Kept of each of stdout and stderr; the rest is read and dropped (the child never blocks on a full pipe). */
  maxBytes: number;
  signal?: AbortSignal;
}

/**
 * Runs `file` with an argument array (never a shell), collecting bounded output. Resolves in
 * every case; a missing program or a timeout is in `error`. node:child_process rather than
 * execa: execa stays out of the agent's executable (agent/README.md, Footprint).
 */
export function runProcess(file: string, args: readonly string[], options: RunOptions): Promise<ProcessResult> {
  return new Promise((resolve) => {
    const child = spawn(file, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, LC_ALL: 'C', SYSTEMD_PAGER: '', SYSTEMD_COLORS: '0' },
      timeout: options.timeoutMs,
      killSignal: 'SIGKILL',
      ...(options.signal ? { signal: options.signal } : {}),
    });
    const collect = () => {
      const chunks: Buffer[] = [];
      let kept = 0;
      let cut = false;
      return {
        push(chunk: Buffer) {
          const room = options.maxBytes - kept;
          if (chunk.length > room) cut = true;
          if (room > 0) {
            chunks.push(room >= chunk.length ? chunk : chunk.subarray(0, room));
            kept += Math.min(room, chunk.length);
          }
        },
        result: () => ({ bytes: Buffer.concat(chunks), cut }),
      };
    };
    const out = collect();
    const err = collect();
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    let error: string | undefined;
    const started = Date.now();
    child.on('error', (e: NodeJS.ErrnoException) => {
      error = e.code === 'ENOENT' ? `${file} is not installed` : e.name === 'AbortError' ? 'aborted' : e.message;
    });
    child.on('close', (code, signal) => {
      if (!error && signal === 'SIGKILL' && Date.now() - started >= options.timeoutMs) error = `timed out after ${options.timeoutMs} ms`;
      const o = out.result();
      const e = err.result();
      resolve({ code, signal, stdout: o.bytes, stderr: e.bytes, stdoutCut: o.cut, stderrCut: e.cut, ...(error ? { error } : {}) });
    });
  });
}
