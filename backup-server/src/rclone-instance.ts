import { randomBytes } from 'node:crypto';
import { execa } from 'execa';
import { errorText, type Logger } from './log.js';
import { parseServingPort, rcloneLineLevel } from './rclone-log.js';

/**
 * One `rclone serve restic` child process bound to 127.0.0.1 on a port the OS chooses. It
 * requires basic auth with a random password made at start and passed in its environment
 * (RCLONE_USER / RCLONE_PASS; not on the command line, where every local user could read it),
 * so nothing on the host reaches the repositories without going through the front.
 */
export interface RcloneInstance {
  readonly name: string;
  readonly port: number;
  readonly pid: number;
  /** The Authorization header the front sends upstream. */
  readonly authorization: string;
  /** Settles when the process has exited, for whatever reason. */
  readonly exited: Promise<void>;
  stop(): Promise<void>;
}

export interface RcloneOptions {
  name: string;
  binary: string;
  /** The directory served: `<root>/<device>/` is a repository. */
  root: string;
  appendOnly: boolean;
  log: Logger;
  startTimeoutMs?: number;
}

export async function startRcloneRestic(options: RcloneOptions): Promise<RcloneInstance> {
  const user = 'xspectre-front';
  const password = randomBytes(24).toString('base64url');
  const args = [
    'serve',
    'restic',
    '--addr',
    '127.0.0.1:0',
    // Listings are read from disk every time: a ZFS rollback or clone under rclone must show at once.
    '--cache-objects=false',
    ...(options.appendOnly ? ['--append-only'] : []),
    options.root,
  ];
  const child = execa(options.binary, args, {
    env: { RCLONE_USER: user, RCLONE_PASS: password },
    stdin: 'ignore',
    stdout: 'ignore',
    stderr: 'pipe',
    buffer: false,
    reject: false,
    cleanup: true,
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error(`${options.binary} did not start`);

  let stopping = false;
  const exited = child.then(
    (result) => {
      options.log.log(stopping ? 'info' : 'error', 'rclone exited', {
        instance: options.name,
        pid,
        exitCode: result.exitCode ?? null,
        signal: result.signal ?? null,
      });
    },
    (err: unknown) => options.log.log('error', 'rclone failed', { instance: options.name, pid, error: errorText(err) }),
  );

  const port = await new Promise<number>((resolve, reject) => {
    let pending = '';
    let found = false;
    const timer = setTimeout(
      () => reject(new Error(`${options.name}: rclone did not report its port within the start timeout`)),
      options.startTimeoutMs ?? 15_000,
    );
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (chunk: string) => {
      pending += chunk;
      let newline: number;
      while ((newline = pending.indexOf('\n')) !== -1) {
        const line = pending.slice(0, newline).trimEnd();
        pending = pending.slice(newline + 1);
        if (!line) continue;
        options.log.log(rcloneLineLevel(line), 'rclone', { instance: options.name, line: line.slice(0, 1000) });
        const port = found ? undefined : parseServingPort(line);
        if (port !== undefined) {
          found = true;
          clearTimeout(timer);
          resolve(port);
        }
      }
      if (pending.length > 64 * 1024) pending = '';
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`${options.name}: rclone exited before serving`));
    });
  }).catch(async (err: unknown) => {
    child.kill('SIGKILL');
    await exited;
    throw err;
  });

  return {
    name: options.name,
    port,
    pid,
    authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`,
    exited,
    async stop() {
      if (child.exitCode !== null) return;
      stopping = true;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
