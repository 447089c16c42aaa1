// The lab's Docker engine (Debian's docker.io, on a socket of its own) and the device containers.
import { constants } from 'node:fs';
import { access, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { run, sleep, type RunOptions, type RunResult } from './exec.js';
import { DOCKER_DATA_ROOT, RUN_ROOT } from './names.js';
import { isRunning, spawnDaemon, stopProcess, type ProcRef } from './processes.js';

export const DOCKER_SOCKET = `${RUN_ROOT}/docker.sock`;
const DOCKER_EXEC_ROOT = `${RUN_ROOT}/docker`;
export const DOCKERD_RECORD = `${RUN_ROOT}/dockerd.json`;
export const DOCKERD_LOG = `${RUN_ROOT}/dockerd.log`;
/** Label on every lab container; its value is the lab id. */
export const LAB_LABEL = 'xspectre-lab';

const exists = (path: string) =>
  access(path, constants.F_OK).then(
    () => true,
    () => false,
  );

let cli: string | undefined;
/** Debian's client (/usr/bin/docker, same version as the engine) when installed, else `docker` from PATH. */
async function dockerCli(): Promise<string> {
  cli ??= (await exists('/usr/bin/docker')) ? '/usr/bin/docker' : 'docker';
  return cli;
}

export async function docker(args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  return run(await dockerCli(), ['-H', `unix://${DOCKER_SOCKET}`, ...args], options);
}

export async function mustDocker(args: readonly string[], options: RunOptions = {}): Promise<string> {
  const result = await docker(args, options);
  if (result.exitCode !== 0)
    throw new Error(
      `docker ${args.join(' ')} failed (${result.timedOut ? 'timed out' : `exit ${result.exitCode}`}): ${result.stderr.trim()}`,
    );
  return result.stdout;
}

/** The command line the `docker` CLI needs to reach the lab's engine (for humans). */
export const DOCKER_CLI_HINT = `docker -H unix://${DOCKER_SOCKET}`;

/** dockerd's arguments for a lab engine (the lab's, the devices'): its own roots and socket. */
export function labDockerdArgs(where: { dataRoot: string; execRoot: string; socket: string; pidFile: string }): string[] {
  return [
    // No iptables rules, no NAT, no docker0, and no change to net.ipv4.ip_forward: the lab does its own networking.
    '--iptables=false',
    '--ip6tables=false',
    '--ip-forward=false',
    '--ip-masq=false',
    '--bridge=none',
    '--data-root',
    where.dataRoot,
    '--exec-root',
    where.execRoot,
    '-H',
    `unix://${where.socket}`,
    '--pidfile',
    where.pidFile,
  ];
}

export async function dockerAnswers(): Promise<boolean> {
  if (!(await exists(DOCKER_SOCKET))) return false;
  return (await docker(['version', '--format', '{{.Server.Version}}'], { timeoutMs: 10_000 })).exitCode === 0;
}

interface DockerdRecord {
  labId: string;
  pid: ProcRef;
}

async function readRecord(): Promise<DockerdRecord | null> {
  try {
    return JSON.parse(await readFile(DOCKERD_RECORD, 'utf8')) as DockerdRecord;
  } catch {
    return null;
  }
}

/** The dockerd a lab started (recorded in /run/xspectre-lab/dockerd.json), if it still runs. */
export async function labDockerd(): Promise<DockerdRecord | null> {
  const record = await readRecord();
  return record && (await isRunning(record.pid)) ? record : null;
}

/**
 * Makes sure the lab's engine answers on DOCKER_SOCKET. Returns the dockerd this lab is now
 * responsible for (started now, or adopted from an earlier lab), or null when the engine on that
 * socket was started by someone else (then it is used and left alone).
 */
export async function ensureDockerd(labId: string, log: (line: string) => void): Promise<ProcRef | null> {
  const record = await labDockerd();
  if (await dockerAnswers()) {
    if (!record) return null;
    await writeFile(DOCKERD_RECORD, JSON.stringify({ labId, pid: record.pid } satisfies DockerdRecord), { mode: 0o600 });
    log(`reusing the lab's dockerd (pid ${record.pid.pid})`);
    return record.pid;
  }
  if (record) await stopDockerd(record.pid); // runs but does not answer: replace it
  await mkdir(DOCKER_DATA_ROOT, { recursive: true, mode: 0o700 });
  await mkdir(DOCKER_EXEC_ROOT, { recursive: true, mode: 0o700 });
  log('starting dockerd for the lab');
  await rm(DOCKERD_LOG, { force: true }); // the log of the last engine only
  const pid = await spawnDaemon(
    'dockerd',
    labDockerdArgs({ dataRoot: DOCKER_DATA_ROOT, execRoot: DOCKER_EXEC_ROOT, socket: DOCKER_SOCKET, pidFile: `${RUN_ROOT}/dockerd.pid` }),
    { logFile: DOCKERD_LOG, env: { ...process.env, XSPECTRE_LAB_DOCKERD: '1' } },
  );
  await writeFile(DOCKERD_RECORD, JSON.stringify({ labId, pid } satisfies DockerdRecord), { mode: 0o600 });
  const deadline = Date.now() + 60_000;
  while (!(await dockerAnswers())) {
    if (!(await isRunning(pid)) || Date.now() > deadline) {
      await stopDockerd(pid);
      const tail = (await readFile(DOCKERD_LOG, 'utf8').catch(() => '')).split('\n').slice(-15).join('\n');
      throw new Error(`dockerd did not come up on ${DOCKER_SOCKET} within 60 s. Last lines of ${DOCKERD_LOG}:\n${tail}`);
    }
    await sleep(250);
  }
  return pid;
}

/** Stops a lab-started dockerd (it stops its containerd and containers) and forgets it. */
export async function stopDockerd(pid: ProcRef): Promise<void> {
  await stopProcess(pid, 30_000);
  const record = await readRecord();
  if (!record || record.pid.pid === pid.pid) await rm(DOCKERD_RECORD, { force: true });
}

export interface RunContainerOptions {
  name: string;
  hostname: string;
  image: string;
  labId: string;
  /** A Docker engine socket on the host to mount at /run/docker.sock in the device (the devices' engine). */
  dockerSocket?: string;
  /** More bind mounts, `HOST:CONTAINER` (e.g. a Greenbone install's /run/gvmd directory at the same path). */
  volumes?: string[];
}

/** A device container: systemd as PID 1, no network until the lab attaches a veth (the flags systemd needs inside Docker). */
export async function runDeviceContainer(options: RunContainerOptions): Promise<void> {
  await mustDocker(
    [
      'run',
      '--detach',
      '--name',
      options.name,
      '--hostname',
      options.hostname,
      '--label',
      `${LAB_LABEL}=${options.labId}`,
      '--network',
      'none',
      '--cap-add',
      'SYS_ADMIN',
      '--cap-add',
      'NET_ADMIN',
      '--device',
      '/dev/net/tun',
      '--security-opt',
      'seccomp=unconfined',
      '--security-opt',
      'apparmor=unconfined',
      '--volume',
      '/sys/fs/cgroup:/sys/fs/cgroup:rw',
      '--tmpfs',
      '/run',
      '--tmpfs',
      '/run/lock',
      ...(options.dockerSocket ? ['--volume', `${options.dockerSocket}:/run/docker.sock`] : []),
      ...(options.volumes ?? []).flatMap((volume) => ['--volume', volume]),
      '--env',
      'container=docker',
      '--stop-signal',
      'SIGRTMIN+3',
      options.image,
      '/sbin/init',
    ],
    { timeoutMs: 60_000 },
  );
}

export async function containerPid(name: string): Promise<number> {
  const pid = Number((await mustDocker(['inspect', '--format', '{{.State.Pid}}', name])).trim());
  if (!Number.isInteger(pid) || pid <= 0) throw new Error(`container ${name} is not running`);
  return pid;
}

/** Waits until `systemctl is-system-running` answers running or degraded. */
export async function waitForSystemd(name: string, timeoutMs = 90_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    const result = await docker(['exec', name, 'systemctl', 'is-system-running'], { timeoutMs: 10_000 });
    last = (result.stdout.trim() || result.stderr.trim()).split('\n')[0] ?? '';
    if (last === 'running' || last === 'degraded') return last;
    await sleep(250);
  }
  throw new Error(`systemd in ${name} did not reach running/degraded within ${timeoutMs / 1000} s (last answer: ${last || 'none'})`);
}

/**
 * Names the container's host in its /etc/hosts (127.0.1.1), as a Debian install does: with
 * `--network none` Docker writes no entry, the lab has no DNS, and every `sudo` (terminal and
 * file sessions run sftp-server through it) would first wait ~20 s for a resolver that never answers.
 */
export async function nameHostLocally(name: string): Promise<void> {
  const script = 'h=$(hostname); grep -qw -- "$h" /etc/hosts || printf "127.0.1.1\\t%s\\n" "$h" >> /etc/hosts';
  const result = await docker(['exec', name, 'sh', '-c', script], { timeoutMs: 10_000 });
  if (result.exitCode !== 0) throw new Error(`naming the host in /etc/hosts of ${name}: ${result.stderr.trim()}`);
}

export async function removeContainer(name: string): Promise<void> {
  const result = await docker(['rm', '--force', '--volumes', name], { timeoutMs: 60_000 });
  if (result.exitCode !== 0 && !/No such container/i.test(result.stderr)) throw new Error(`docker rm ${name}: ${result.stderr.trim()}`);
}

/** Lab containers (any lab) as [name, lab id]. Empty when the engine does not answer. */
export async function listLabContainers(): Promise<Array<{ name: string; labId: string }>> {
  if (!(await dockerAnswers())) return [];
  const out = await mustDocker(['ps', '--all', '--filter', `label=${LAB_LABEL}`, '--format', `{{.Names}}\t{{.Label "${LAB_LABEL}"}}`]);
  return out
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [name, labId] = line.split('\t');
      return { name: name ?? '', labId: labId ?? '' };
    });
}
