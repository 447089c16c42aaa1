// A zfs-fuse daemon of the test's own, in a private mount namespace. zfs-fuse and its tools
// hard-code their rendezvous (/var/run/zfs/zfs_socket, /var/lock/zfs/zfs_lock, the pool cache
// in /var/lib/zfs): two daemons cannot run side by side in one mount namespace, and a daemon
// shared between test runs is stopped by whichever run started it while another still uses it.
// Here a holder process (`unshare --mount sleep`) owns a namespace where those three directories
// are private tmpfs; zfs-fuse, zfs, zpool and rclone run inside it (nsenter), so the machine's
// own daemon, if any, and other runs never see this one. The FUSE mounts exist only in the
// namespace: the test reads them through /proc/<pid>/root. Stopping kills the daemon and the
// holder; the namespace, with any mount a crashed daemon left, goes with them.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { access, chmod, mkdir, readFile, readlink, rmdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';

const PRIVATE_DIRS = ['/run/zfs', '/run/lock/zfs', '/var/lib/zfs'];

export interface ZfsNamespace {
  /** Wrapper executables that run the tool inside the namespace: for ZfsStorage and BACKUP_*_BIN. */
  bin: { zfs: string; zpool: string; rclone: string };
  /** A path of the namespace as the test process can read it. */
  hostPath(path: string): string;
  /** The daemon's pid while it runs (undefined once it exited). */
  daemonPid(): number | undefined;
  /** The daemon's own output, for a failure message. */
  daemonLog(): Promise<string>;
  /** Stops the daemon (SIGTERM, then SIGKILL) and the holder; returns what went wrong, if anything. */
  stop(): Promise<string[]>;
}

const alive = (child: ChildProcess) => child.exitCode === null && child.signalCode === null;

async function waitExit(child: ChildProcess, ms: number): Promise<boolean> {
  for (let waited = 0; alive(child) && waited < ms; waited += 100) await sleep(100);
  return !alive(child);
}

export async function startZfsNamespace(dir: string): Promise<ZfsNamespace> {
  // The holder ends on its own after an hour should the test process die without stopping it.
  const holder = spawn('unshare', ['--mount', '--propagation', 'private', '--', 'sleep', '3600'], { stdio: 'ignore' });
  const holderPid = holder.pid;
  if (holderPid === undefined) throw new Error('unshare did not start');
  let daemon: ChildProcess | undefined;
  const logFile = join(dir, 'zfs-fuse.log');
  /** Mount points made on the machine for this run, removed by stop(). */
  const created: string[] = [];
  const nsenter = (args: string[]) =>
    execa('nsenter', ['--target', String(holderPid), '--mount', '--', ...args], { reject: false, stdin: 'ignore' });

  const stop = async (): Promise<string[]> => {
    const problems: string[] = [];
    if (daemon) {
      if (!alive(daemon))
        problems.push(`zfs-fuse exited during the run (${daemon.exitCode ?? daemon.signalCode}): ${(await readLog()).slice(-1500)}`);
      else {
        daemon.kill('SIGTERM');
        if (!(await waitExit(daemon, 10_000))) {
          daemon.kill('SIGKILL');
          await waitExit(daemon, 5_000);
          problems.push('zfs-fuse did not stop on SIGTERM within 10 s (killed)');
        }
      }
    }
    holder.kill('SIGKILL');
    await waitExit(holder, 5_000);
    // The mount points this run had to make (a machine where zfs-fuse never ran has none): gone again.
    for (const path of created.reverse()) await rmdir(path).catch(() => undefined);
    return problems;
  };
  const readLog = () => readFile(logFile, 'utf8').catch(() => '');

  try {
    // The namespace exists once unshare has exec'd sleep: its mount namespace differs from ours.
    const own = await readlinkNs(process.pid);
    for (let i = 0; i < 50 && (await readlinkNs(holderPid)) === own; i++) await sleep(50);
    if ((await readlinkNs(holderPid)) === own) throw new Error('unshare did not create a mount namespace');
    for (const path of PRIVATE_DIRS) {
      if (
        !(await access(path).then(
          () => true,
          () => false,
        ))
      ) {
        // mkdir -p, remembering each level it made, so stop() leaves the machine as it was.
        const missing: string[] = [];
        for (
          let at = path;
          !(await access(at).then(
            () => true,
            () => false,
          ));
          at = dirname(at)
        )
          missing.unshift(at);
        for (const level of missing) {
          await mkdir(level, { mode: 0o755 });
          created.push(level);
        }
      }
      const mounted = await nsenter(['mount', '-t', 'tmpfs', '-o', 'mode=0700,size=1m', 'xs-zfs-lab', path]);
      if (mounted.exitCode !== 0) throw new Error(`mount tmpfs on ${path}: ${String(mounted.stderr)}`);
    }
    const log = createWriteStream(logFile);
    await new Promise((resolve) => log.once('open', resolve));
    daemon = spawn('nsenter', ['--target', String(holderPid), '--mount', '--', 'zfs-fuse', '--no-daemon', '--no-kstat-mount'], {
      stdio: ['ignore', log, log],
    });
    for (let i = 0; i < 100; i++) {
      if (!alive(daemon)) throw new Error(`zfs-fuse exited at start: ${await readLog()}`);
      if ((await nsenter(['zpool', 'list'])).exitCode === 0) break;
      if (i === 99) throw new Error(`zfs-fuse started but zpool does not answer: ${await readLog()}`);
      await sleep(100);
    }

    const wrapper = async (tool: string) => {
      const file = join(dir, `ns-${tool}`);
      // exec: the wrapper's pid is the tool's (rclone's pid is watched by the backup server).
      await writeFile(file, `#!/bin/sh\nexec nsenter --target ${holderPid} --mount -- ${tool} "$@"\n`);
      await chmod(file, 0o755);
      return file;
    };
    return {
      bin: { zfs: await wrapper('zfs'), zpool: await wrapper('zpool'), rclone: await wrapper('rclone') },
      hostPath: (path) => `/proc/${holderPid}/root${path}`,
      daemonPid: () => (daemon && alive(daemon) ? daemon.pid : undefined),
      daemonLog: readLog,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

const readlinkNs = (pid: number): Promise<string> => readlink(`/proc/${pid}/ns/mnt`).catch(() => '');
