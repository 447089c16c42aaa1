// A real Docker engine for the agent's tests: the fleet lab's dockerd (infra/lab/src/docker.ts),
// used when it already answers, else started with the lab's exact flags; and busybox images
// imported from a tar stream (no registry is reachable here).
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const LAB_RUN_ROOT = '/run/xspectre-lab';
export const LAB_DOCKER_SOCKET = `${LAB_RUN_ROOT}/docker.sock`;
export const LAB_DATA_ROOT = '/var/lib/xspectre-lab/docker';

export type DockerCli = (args: string[], timeout?: number) => Promise<string>;

/** The `docker` command line against one engine's socket; resolves its stdout. */
export function dockerCli(socket: string): DockerCli {
  return async (args, timeout = 60_000) => (await run('docker', ['-H', `unix://${socket}`, ...args], { timeout })).stdout;
}

export const dockerAnswers = (socket: string) =>
  dockerCli(socket)(['version', '--format', '{{.Server.Version}}'], 10_000).then(
    () => true,
    () => false,
  );

/** dockerd's arguments for an engine of its own (the flags of infra/lab/src/docker.ts: no iptables, NAT, bridge or ip_forward change). */
export function dockerdArgs(paths: { dataRoot: string; runRoot: string; socket: string }): string[] {
  return [
    '--iptables=false',
    '--ip6tables=false',
    '--ip-forward=false',
    '--ip-masq=false',
    '--bridge=none',
    '--data-root',
    paths.dataRoot,
    '--exec-root',
    `${paths.runRoot}/docker`,
    '-H',
    `unix://${paths.socket}`,
    '--pidfile',
    `${paths.runRoot}/dockerd.pid`,
  ];
}

/** Waits until the engine answers; throws when `started` exits first or a minute passes. */
export async function waitForDockerd(socket: string, started: ChildProcess): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!(await dockerAnswers(socket))) {
    if (started.exitCode !== null || Date.now() > deadline) throw new Error('dockerd did not come up');
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * The lab's engine on LAB_DOCKER_SOCKET: null when it already answered (someone else's, left
 * running), else the dockerd this call started (stop it with stopDockerd).
 */
export async function ensureLabDockerd(): Promise<ChildProcess | null> {
  if (await dockerAnswers(LAB_DOCKER_SOCKET)) return null;
  await mkdir(LAB_DATA_ROOT, { recursive: true, mode: 0o700 });
  await mkdir(`${LAB_RUN_ROOT}/docker`, { recursive: true, mode: 0o700 });
  const logFd = openSync(join(tmpdir(), `xspectre-agent-dockerd-${process.pid}.log`), 'w');
  const started = spawn('dockerd', dockerdArgs({ dataRoot: LAB_DATA_ROOT, runRoot: LAB_RUN_ROOT, socket: LAB_DOCKER_SOCKET }), {
    stdio: ['ignore', logFd, logFd],
  });
  closeSync(logFd);
  await waitForDockerd(LAB_DOCKER_SOCKET, started);
  return started;
}

/** Stops a dockerd this process started (SIGTERM, up to 30 s). */
export async function stopDockerd(started: ChildProcess | null): Promise<void> {
  if (!started || started.exitCode !== null) return;
  const exited = new Promise((r) => started.once('exit', r));
  started.kill('SIGTERM');
  await Promise.race([exited, new Promise((r) => setTimeout(r, 30_000))]);
}

export interface BusyboxImageOptions {
  /** busybox applets linked under /bin (default sh and sleep). */
  applets?: readonly string[];
  /** Extra files by absolute path. */
  files?: Record<string, string>;
  /** Only `files`: no busybox (an image that runs nothing). */
  bare?: boolean;
}

/** Imports busybox and the libraries it links (plus `files`) as `tag`; resolves the image id. */
export async function importBusyboxImage(socket: string, tag: string, options: BusyboxImageOptions = {}): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'xspectre-busybox-'));
  try {
    if (!options.bare) {
      const busybox = (await run('sh', ['-c', 'command -v busybox'])).stdout.trim();
      const libs = (await run('ldd', [busybox])).stdout.match(/\/[^\s)]+/g) ?? [];
      for (const file of [busybox, ...libs]) {
        await mkdir(join(root, dirname(file)), { recursive: true });
        await copyFile(file, join(root, file));
      }
      await mkdir(join(root, 'bin'), { recursive: true });
      for (const applet of options.applets ?? ['sh', 'sleep']) await symlink(busybox, join(root, 'bin', applet)).catch(() => undefined);
    }
    for (const [path, text] of Object.entries(options.files ?? {})) {
      await mkdir(join(root, dirname(path)), { recursive: true });
      await writeFile(join(root, path), text);
    }
    const tar = spawn('tar', ['-C', root, '-c', '.'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const imported = spawn('docker', ['-H', `unix://${socket}`, 'import', '-', tag], { stdio: [tar.stdout, 'pipe', 'inherit'] });
    let out = '';
    imported.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    const code = await new Promise<number | null>((resolve) => imported.once('exit', resolve));
    if (code !== 0) throw new Error(`docker import exited ${code}`);
    return out.trim();
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}
