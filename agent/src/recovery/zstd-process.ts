import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';

/** A `zstd` child (argument array, no shell) with its exit and the first 4000 characters of its stderr. */
export interface ZstdProcess {
  child: ChildProcessWithoutNullStreams;
  exit: Promise<{ code: number | null; error?: string }>;
  /** What zstd printed on stderr (bounded), for the failure message. */
  stderr(): string;
  /** Writes `data` to zstd's input; resolves once the pipe has taken it (then `data` may change), rejects with `closedEarly()` if zstd's input closes first. */
  write(data: Buffer, closedEarly: () => Error): Promise<void>;
  /** After a write answered false: resolves at 'drain', rejects with `closedEarly()` if zstd's input closes first. */
  inputDrained(closedEarly: () => Error): Promise<void>;
}

export function spawnZstd(binary: string, args: string[], signal?: AbortSignal): ZstdProcess {
  const child = spawn(binary, args, { stdio: ['pipe', 'pipe', 'pipe'], ...(signal ? { signal } : {}) });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => {
    if (stderr.length < 4000) stderr += c.toString('utf8');
  });
  const exit = new Promise<{ code: number | null; error?: string }>((resolve) => {
    let error: string | undefined;
    child.on('error', (e: NodeJS.ErrnoException) => {
      error = e.code === 'ENOENT' ? 'zstd is not installed' : e.message;
    });
    child.on('close', (code) => resolve({ code, ...(error ? { error } : {}) }));
  });
  // EPIPE when zstd died: reported through its exit.
  child.stdin.on('error', () => undefined);
  const write = (data: Buffer, closedEarly: () => Error) =>
    new Promise<void>((resolve, reject) => {
      if (child.stdin.destroyed) return reject(closedEarly());
      child.stdin.write(data, (err) => (err ? reject(closedEarly()) : resolve()));
    });
  const inputDrained = (closedEarly: () => Error) =>
    new Promise<void>((resolve, reject) => {
      const stdin = child.stdin;
      if (stdin.destroyed) return reject(closedEarly());
      const done = () => {
        stdin.off('close', closed);
        resolve();
      };
      const closed = () => {
        stdin.off('drain', done);
        reject(closedEarly());
      };
      stdin.once('drain', done);
      stdin.once('close', closed);
    });
  return { child, exit, stderr: () => stderr, write, inputDrained };
}
