// Long-lived lab processes (wireguard-go, agents, dockerd, the CLI's API): started detached
// with their output in a log file, so they outlive a CLI `up`; known by PID plus the kernel's
// start time of that PID, so a reused PID is never signalled.
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { sleep } from './exec.js';

export interface ProcRef {
  pid: number;
  /** Field 22 of /proc/PID/stat (clock ticks after boot). */
  startTime: string;
}

interface ProcStat {
  state: string;
  startTime: string;
}

async function procStat(pid: number): Promise<ProcStat | null> {
  try {
    const text = await readFile(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) state ppid ..." — comm may contain spaces and parentheses: split after the last ')'.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0] ?? '', startTime: fields[19] ?? '' };
  } catch {
    return null;
  }
}

export async function procRef(pid: number): Promise<ProcRef | null> {
  const stat = await procStat(pid);
  return stat ? { pid, startTime: stat.startTime } : null;
}

/** The process still exists, is not a zombie, and is the one we started (same start time). */
export async function isRunning(ref: ProcRef | null | undefined): Promise<boolean> {
  if (!ref) return false;
  const stat = await procStat(ref.pid);
  return stat !== null && stat.state !== 'Z' && stat.startTime === ref.startTime;
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone (bounded). */
export async function stopProcess(ref: ProcRef | null | undefined, graceMs = 5000): Promise<void> {
  if (!(await isRunning(ref))) return;
  const pid = ref!.pid;
  const gone = async (ms: number) => {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      if (!(await isRunning(ref))) return true;
      await sleep(50);
    }
    return !(await isRunning(ref));
  };
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  if (await gone(graceMs)) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    return;
  }
  if (!(await gone(5000))) throw new Error(`process ${pid} did not exit after SIGKILL`);
}

export interface DaemonOptions {
  logFile: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/**
 * Starts `file args` in its own session, stdin from /dev/null, stdout+stderr appended to
 * `logFile`. The child is unref'd: it neither keeps this process alive nor dies with it.
 */
export async function spawnDaemon(file: string, args: readonly string[], options: DaemonOptions): Promise<ProcRef> {
  const fd = openSync(options.logFile, 'a', 0o600);
  try {
    const child = spawn(file, args, {
      detached: true,
      stdio: ['ignore', fd, fd],
      env: options.env ?? process.env,
      cwd: options.cwd,
    });
    const started = await new Promise<number>((resolve, reject) => {
      child.once('spawn', () => resolve(child.pid as number));
      child.once('error', reject);
    });
    child.unref();
    const ref = await procRef(started);
    if (!ref) throw new Error(`${file} exited at once (see ${options.logFile})`);
    return ref;
  } finally {
    closeSync(fd);
  }
}

export interface ProcessInfo {
  pid: number;
  argv: string[];
  /** Value of XSPECTRE_LAB in its environment (set on every process the lab starts). */
  labMarker: string | undefined;
}

/** Every live (non-zombie) process but this one, with its command line and lab marker. */
export async function listProcesses(): Promise<ProcessInfo[]> {
  const found: ProcessInfo[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid) continue;
    try {
      const raw = await readFile(`/proc/${pid}/cmdline`, 'utf8');
      if (!raw) continue; // kernel threads
      const stat = await procStat(pid);
      if (!stat || stat.state === 'Z') continue;
      const environ = await readFile(`/proc/${pid}/environ`, 'utf8').catch(() => '');
      const marker = environ
        .split('\0')
        .find((v) => v.startsWith('XSPECTRE_LAB='))
        ?.slice('XSPECTRE_LAB='.length);
      found.push({ pid, argv: raw.split('\0').filter((a) => a !== ''), labMarker: marker });
    } catch {
      /* gone meanwhile */
    }
  }
  return found;
}
