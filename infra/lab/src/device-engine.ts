// The devices' own Docker engine: a second, small dockerd per lab whose socket is mounted into
// every device container at /run/docker.sock, where the agent reads containers and carries out
// container actions. It is never the engine that hosts the device containers (docker.ts): a
// device restarting "its" containers must not be able to touch the lab itself.
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { labDockerdArgs } from './docker.js';
import { must, run, sleep, type RunOptions, type RunResult } from './exec.js';
import { labNames } from './names.js';
import { isRunning, spawnDaemon, stopProcess, type ProcRef } from './processes.js';

/** Images and containers of the device engines: a directory per lab, removed with its engine. */
const DATA_ROOT = '/var/lib/xspectre-lab/device-engine';
const dataRoot = (labId: string) => join(DATA_ROOT, labId);
/** A container image the lab builds from the host's busybox: sh, sleep, date. */
export const DEVICE_ENGINE_IMAGE = 'xspectre-lab/busybox:1';
/** Where a device container sees the engine (the agent's default socket, /var/run → /run). */
export const DEVICE_DOCKER_SOCKET = '/run/docker.sock';

export function deviceEnginePaths(labId: string) {
  const dir = join(labNames(labId).dir, 'de');
  return {
    dir,
    socket: join(dir, 'docker.sock'),
    execRoot: join(dir, 'x'),
    pidFile: join(dir, 'dockerd.pid'),
    log: join(dir, 'dockerd.log'),
  };
}

export function deviceDocker(labId: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  return run('docker', ['-H', `unix://${deviceEnginePaths(labId).socket}`, ...args], options);
}

async function answers(labId: string): Promise<boolean> {
  return (await deviceDocker(labId, ['version', '--format', '{{.Server.Version}}'], { timeoutMs: 10_000 })).exitCode === 0;
}

/**
 * Starts the lab's device engine and loads DEVICE_ENGINE_IMAGE into it. `onSpawned` records the
 * process the moment it exists (teardown and the sweeper stop it: it carries XSPECTRE_LAB=<id>).
 */
export async function startDeviceEngine(
  labId: string,
  onSpawned: (pid: ProcRef) => Promise<void>,
  log: (line: string) => void,
): Promise<ProcRef> {
  const paths = deviceEnginePaths(labId);
  await mkdir(paths.execRoot, { recursive: true, mode: 0o700 });
  // One lab at a time, and the sweeper stopped the engines of earlier ones: what is left is theirs.
  for (const entry of await readdir(DATA_ROOT).catch(() => [] as string[]))
    await rm(join(DATA_ROOT, entry), { recursive: true, force: true });
  await mkdir(dataRoot(labId), { recursive: true, mode: 0o700 });
  log('starting the devices’ Docker engine');
  const pid = await spawnDaemon(
    'dockerd',
    labDockerdArgs({ dataRoot: dataRoot(labId), execRoot: paths.execRoot, socket: paths.socket, pidFile: paths.pidFile }),
    { logFile: paths.log, env: { ...process.env, XSPECTRE_LAB: labId } },
  );
  await onSpawned(pid);
  const deadline = Date.now() + 60_000;
  while (!(await answers(labId))) {
    if (!(await isRunning(pid)) || Date.now() > deadline) {
      await stopProcess(pid, 30_000);
      const tail = (await readFile(paths.log, 'utf8').catch(() => '')).split('\n').slice(-15).join('\n');
      throw new Error(`the devices' dockerd did not come up on ${paths.socket} within 60 s:\n${tail}`);
    }
    await sleep(250);
  }
  await ensureBusyboxImage(labId);
  return pid;
}

/** SIGTERM (dockerd stops its containers and containerd), SIGKILL after 30 s; removes its run directory. */
export async function stopDeviceEngine(labId: string, pid: ProcRef): Promise<void> {
  await stopProcess(pid, 30_000);
  await rm(deviceEnginePaths(labId).dir, { recursive: true, force: true });
  await rm(dataRoot(labId), { recursive: true, force: true });
}

/** `docker import` of a root with the host's busybox and the libraries it links (nothing downloaded). */
async function ensureBusyboxImage(labId: string): Promise<void> {
  if ((await deviceDocker(labId, ['image', 'inspect', DEVICE_ENGINE_IMAGE])).exitCode === 0) return;
  const root = join(deviceEnginePaths(labId).dir, 'busybox-root');
  await rm(root, { recursive: true, force: true });
  const files = ['/bin/busybox', ...(await linkedLibraries('/bin/busybox'))];
  for (const file of files) {
    await mkdir(join(root, file, '..'), { recursive: true });
    await must('cp', ['--dereference', file, join(root, file)]);
  }
  for (const applet of ['sh', 'sleep', 'date', 'cat', 'echo']) await must('ln', ['-s', 'busybox', join(root, 'bin', applet)]);
  const tar = join(deviceEnginePaths(labId).dir, 'busybox.tar');
  await must('tar', ['-C', root, '-cf', tar, '.']);
  const imported = await run('docker', ['-H', `unix://${deviceEnginePaths(labId).socket}`, 'import', tar, DEVICE_ENGINE_IMAGE], {
    timeoutMs: 120_000,
  });
  await rm(root, { recursive: true, force: true });
  await rm(tar, { force: true });
  if (imported.exitCode !== 0) throw new Error(`docker import of ${DEVICE_ENGINE_IMAGE}: ${imported.stderr.trim()}`);
}

async function linkedLibraries(file: string): Promise<string[]> {
  const out = await must('ldd', [file]);
  return [...out.matchAll(/(\/\S+\.so[.\d]*)/g)].map((m) => m[1]!);
}

/** A long-running container in the device engine that appends its start time to nothing but its own log. */
export async function runDeviceEngineContainer(labId: string, name: string): Promise<void> {
  const result = await deviceDocker(
    labId,
    [
      'run',
      '--detach',
      '--name',
      name,
      '--network',
      'none',
      '--label',
      `xspectre-lab=${labId}`,
      DEVICE_ENGINE_IMAGE,
      '/bin/sleep',
      '100000',
    ],
    { timeoutMs: 60_000 },
  );
  if (result.exitCode !== 0) throw new Error(`docker run ${name} in the device engine: ${result.stderr.trim()}`);
}

/** The container's State.StartedAt (changes with every start or restart). */
export async function deviceEngineContainerStartedAt(labId: string, name: string): Promise<string> {
  const result = await deviceDocker(labId, ['inspect', '--format', '{{.State.StartedAt}}', name]);
  if (result.exitCode !== 0) throw new Error(`docker inspect ${name}: ${result.stderr.trim()}`);
  return result.stdout.trim();
}
