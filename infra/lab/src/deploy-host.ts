// The "deploy host": a fresh Debian bookworm container with systemd as PID 1, for the deploy
// command's test (infra/deploy/deploy.sh, api/test/lab-deploy.spec.ts). Like the device image
// (image.ts) its root filesystem comes from debootstrap, is cached under /var/cache/xspectre-lab
// by a hash of the recipe, and carries every package deploy.sh would install: lab containers
// have no route to a package mirror, so deploy.sh finds them present and runs no apt.
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { access, mkdir, mkdtemp, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { must, run, type RunOptions, type RunResult } from './exec.js';
import { docker, ensureDockerd, mustDocker, runDeviceContainer, stopDockerd, waitForSystemd, nameHostLocally } from './docker.js';
import { CACHE_ROOT, LAB_PREFIX } from './names.js';
import type { ProcRef } from './processes.js';

const exists = (path: string) =>
  access(path, constants.F_OK).then(
    () => true,
    () => false,
  );

/** What deploy.sh installs when missing (its ensure_packages), plus systemd itself. */
export const DEPLOY_HOST_PACKAGES = [
  'systemd',
  'systemd-sysv',
  'dbus',
  'iproute2',
  'postgresql',
  'redis-server',
  'wireguard-tools',
  'wireguard-go',
  'caddy',
  'curl',
  'ca-certificates',
  'openssl',
  'procps',
  // deploy.sh installs restic always (the API serves it to devices) and rclone with --with-backup-server.
  'restic',
  'rclone',
];
const SUITE = 'bookworm';
const MIRROR = 'http://deb.debian.org/debian';
const RECIPE_VERSION = 1;
const recipeHash = createHash('sha256')
  .update(JSON.stringify({ SUITE, MIRROR, DEPLOY_HOST_PACKAGES, RECIPE_VERSION }))
  .digest('hex')
  .slice(0, 12);

export const DEPLOY_HOST_IMAGE = `xspectre-lab/deploy-host:${SUITE}-${recipeHash}`;
export const DEPLOY_HOST_ROOTFS_TARBALL = join(CACHE_ROOT, `deploy-host-${SUITE}-${recipeHash}.tar`);

/** Imports the image unless the lab's engine has it; builds the cached tarball first if missing. */
export async function ensureDeployHostImage(log: (line: string) => void): Promise<string> {
  if ((await docker(['image', 'inspect', '--format', '{{.Id}}', DEPLOY_HOST_IMAGE])).exitCode === 0) return DEPLOY_HOST_IMAGE;
  if (!(await exists(DEPLOY_HOST_ROOTFS_TARBALL))) await buildRootfsTarball(log);
  log(`importing ${DEPLOY_HOST_ROOTFS_TARBALL} as ${DEPLOY_HOST_IMAGE}`);
  await mustDocker(['import', DEPLOY_HOST_ROOTFS_TARBALL, DEPLOY_HOST_IMAGE], { timeoutMs: 10 * 60_000 });
  return DEPLOY_HOST_IMAGE;
}

async function buildRootfsTarball(log: (line: string) => void): Promise<void> {
  await mkdir(CACHE_ROOT, { recursive: true, mode: 0o755 });
  const work = await mkdtemp(join(CACHE_ROOT, 'build-'));
  const rootfs = join(work, 'rootfs');
  try {
    log(`building the deploy host's root filesystem with debootstrap (${SUITE}, a few minutes; cached as ${DEPLOY_HOST_ROOTFS_TARBALL})`);
    const result = await run('debootstrap', ['--variant=minbase', `--include=${DEPLOY_HOST_PACKAGES.join(',')}`, SUITE, rootfs, MIRROR], {
      timeoutMs: 20 * 60_000,
    });
    if (result.exitCode !== 0) {
      const tail = `${result.stdout}\n${result.stderr}`.trim().split('\n').slice(-12).join('\n');
      throw new Error(
        `debootstrap failed (${result.timedOut ? 'timed out' : `exit ${result.exitCode}`}); is ${MIRROR} reachable? Last lines:\n${tail}`,
      );
    }
    // Each container makes its own machine id; the package lists and .debs are dead weight without a mirror.
    await writeFile(join(rootfs, 'etc/machine-id'), '');
    await rm(join(rootfs, 'var/lib/apt/lists'), { recursive: true, force: true });
    await mkdir(join(rootfs, 'var/lib/apt/lists/partial'), { recursive: true });
    for (const entry of await readdir(join(rootfs, 'var/cache/apt/archives')).catch(() => [] as string[])) {
      if (entry.endsWith('.deb')) await rm(join(rootfs, 'var/cache/apt/archives', entry));
    }
    const tmp = `${DEPLOY_HOST_ROOTFS_TARBALL}.${process.pid}.tmp`;
    await must('tar', ['--numeric-owner', '-C', rootfs, '-cf', tmp, '.'], { timeoutMs: 10 * 60_000 });
    await rename(tmp, DEPLOY_HOST_ROOTFS_TARBALL);
  } finally {
    const mounts = (await readFile('/proc/mounts', 'utf8').catch(() => ''))
      .split('\n')
      .map((line) => line.split(' ')[1] ?? '')
      .filter((point) => point === rootfs || point.startsWith(`${rootfs}/`))
      .sort((a, b) => b.length - a.length);
    for (const point of mounts) await run('umount', ['-l', point]);
    await rm(work, { recursive: true, force: true });
  }
}

/** One deploy host container of a lab (labelled with the lab's id, so the sweeper removes leftovers). */
export class DeployHost {
  private constructor(
    readonly name: string,
    private readonly ownedDockerd: ProcRef | null,
  ) {}

  /** Starts the container (systemd as PID 1, loopback only) on the lab's Docker engine. */
  static async start(labId: string, log: (line: string) => void): Promise<DeployHost> {
    const ownedDockerd = await ensureDockerd(labId, log);
    const host = new DeployHost(`${LAB_PREFIX}${labId}-deploy`, ownedDockerd);
    try {
      const image = await ensureDeployHostImage(log);
      await runDeviceContainer({ name: host.name, hostname: 'deploy-host', image, labId });
      await waitForSystemd(host.name);
      await nameHostLocally(host.name);
      // Debian's redis unit sets PrivateUsers=, and a container cannot make user namespaces: a
      // lab-only drop-in (a real host needs none), so the host starts as a fresh install would.
      const dropIn =
        'mkdir -p /etc/systemd/system/redis-server.service.d && printf "[Service]\\nPrivateUsers=false\\n" > /etc/systemd/system/redis-server.service.d/lab-container.conf';
      await host.mustExec(
        ['sh', '-c', `${dropIn} && systemctl daemon-reload && systemctl reset-failed && systemctl restart redis-server`],
        {
          timeoutMs: 60_000,
        },
      );
    } catch (error) {
      await host.remove().catch(() => undefined);
      throw error;
    }
    return host;
  }

  /** `docker exec` in the host; never throws for a non-zero exit. */
  exec(args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
    return docker(['exec', ...(options.input === undefined ? [] : ['--interactive']), this.name, ...args], options);
  }

  async mustExec(args: readonly string[], options: RunOptions = {}): Promise<string> {
    const result = await this.exec(args, options);
    if (result.exitCode !== 0)
      throw new Error(
        `${args.join(' ')} in ${this.name} failed (exit ${result.exitCode}): ${(result.stderr || result.stdout).trim().slice(-3000)}`,
      );
    return result.stdout;
  }

  /** Copies a host directory into the container (`docker cp`). */
  async copyIn(source: string, target: string): Promise<void> {
    await mustDocker(['cp', source, `${this.name}:${target}`], { timeoutMs: 10 * 60_000 });
  }

  /** Removes the container, and stops the Docker engine if this host started it. */
  async remove(): Promise<void> {
    const result = await docker(['rm', '--force', '--volumes', this.name], { timeoutMs: 120_000 });
    if (result.exitCode !== 0 && !/No such container/i.test(result.stderr))
      throw new Error(`docker rm ${this.name}: ${result.stderr.trim()}`);
    if (this.ownedDockerd) await stopDockerd(this.ownedDockerd);
  }
}
