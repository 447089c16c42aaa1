// The device image: Debian bookworm from debootstrap (systemd, sshd, WireGuard tools, curl),
// imported into the lab's Docker engine. The root filesystem tarball is cached under
// /var/cache/xspectre-lab and rebuilt only when missing; its name carries a hash of the recipe.
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { access, mkdir, mkdtemp, readFile, readdir, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { must, run } from './exec.js';
import { docker, mustDocker } from './docker.js';
import { CACHE_ROOT } from './names.js';

const exists = (path: string) =>
  access(path, constants.F_OK).then(
    () => true,
    () => false,
  );

/**
 * What is baked in: a lab device has no route to a package mirror, so everything bootstrap.sh
 * would install is already there (it then installs nothing). busybox provides `httpd` and `nc`
 * for the network tests; restic is the file backups' client (the agent runs it for `backup.run`
 * and `backup.restore`, api/test/lab-backups.spec.ts).
 */
export const DEVICE_PACKAGES = [
  'systemd',
  'systemd-sysv',
  'dbus',
  'iproute2',
  'openssh-server',
  'wireguard-tools',
  'wireguard-go',
  'curl',
  'ca-certificates',
  'iputils-ping',
  'busybox',
  'restic',
  // Terminal and file sessions: the agent gives xspectre-ops passwordless sudo (SFTP runs as root through it).
  'sudo',
  // Disk health: the agent reads SMART with smartctl (bootstrap.sh installs it on real devices).
  'smartmontools',
];
const SUITE = 'bookworm';
const MIRROR = 'http://deb.debian.org/debian';

/** Each device makes its own SSH host keys on first boot (the image carries none). */
const SSH_KEYGEN_UNIT = `[Unit]
Description=Generate this lab device's own SSH host keys
ConditionPathExists=!/etc/ssh/ssh_host_ed25519_key
Before=ssh.service

[Service]
Type=oneshot
ExecStart=/usr/bin/ssh-keygen -A

[Install]
RequiredBy=ssh.service
WantedBy=multi-user.target
`;

/** Bump when customizeRootfs changes in a way the hash below cannot see. */
const RECIPE_VERSION = 1;

const recipeHash = createHash('sha256')
  .update(JSON.stringify({ SUITE, MIRROR, DEVICE_PACKAGES, SSH_KEYGEN_UNIT, RECIPE_VERSION }))
  .digest('hex')
  .slice(0, 12);

export const DEVICE_IMAGE = `xspectre-lab/device:${SUITE}-${recipeHash}`;
export const DEVICE_ROOTFS_TARBALL = join(CACHE_ROOT, `device-${SUITE}-${recipeHash}.tar`);

export class ImageBuildError extends Error {}

/** Imports the device image unless the engine has it; builds the cached tarball first if it is missing. */
export async function ensureDeviceImage(log: (line: string) => void): Promise<string> {
  if ((await docker(['image', 'inspect', '--format', '{{.Id}}', DEVICE_IMAGE])).exitCode === 0) return DEVICE_IMAGE;
  if (!(await exists(DEVICE_ROOTFS_TARBALL))) await buildRootfsTarball(log);
  log(`importing ${DEVICE_ROOTFS_TARBALL} as ${DEVICE_IMAGE}`);
  await mustDocker(['import', DEVICE_ROOTFS_TARBALL, DEVICE_IMAGE], { timeoutMs: 10 * 60_000 });
  return DEVICE_IMAGE;
}

async function buildRootfsTarball(log: (line: string) => void): Promise<void> {
  await mkdir(CACHE_ROOT, { recursive: true, mode: 0o755 });
  const work = await mkdtemp(join(CACHE_ROOT, 'build-'));
  const rootfs = join(work, 'rootfs');
  try {
    log(`building the device root filesystem with debootstrap (${SUITE}, about 1-2 min; cached as ${DEVICE_ROOTFS_TARBALL})`);
    const result = await run('debootstrap', ['--variant=minbase', `--include=${DEVICE_PACKAGES.join(',')}`, SUITE, rootfs, MIRROR], {
      timeoutMs: 20 * 60_000,
    });
    if (result.exitCode !== 0) {
      const tail = `${result.stdout}\n${result.stderr}`.trim().split('\n').slice(-12).join('\n');
      const why = result.timedOut ? 'timed out after 20 min' : `exit ${result.exitCode}`;
      throw new ImageBuildError(`debootstrap failed (${why}); is ${MIRROR} reachable from this machine? Last lines:\n${tail}`);
    }
    await customizeRootfs(rootfs);
    const tmp = `${DEVICE_ROOTFS_TARBALL}.${process.pid}.tmp`;
    await must('tar', ['--numeric-owner', '-C', rootfs, '-cf', tmp, '.'], { timeoutMs: 10 * 60_000 });
    await rename(tmp, DEVICE_ROOTFS_TARBALL);
  } finally {
    await unmountBelow(rootfs);
    await rm(work, { recursive: true, force: true });
  }
}

async function customizeRootfs(rootfs: string): Promise<void> {
  const at = (...parts: string[]) => join(rootfs, ...parts);
  // Per-device identity is made at first boot: SSH host keys (unit below) and the machine id.
  for (const entry of await readdir(at('etc/ssh'))) {
    if (entry.startsWith('ssh_host_')) await rm(at('etc/ssh', entry));
  }
  await writeFile(at('etc/machine-id'), '');
  await writeFile(at('etc/systemd/system/xspectre-lab-ssh-keygen.service'), SSH_KEYGEN_UNIT);
  for (const dir of ['ssh.service.requires', 'multi-user.target.wants']) {
    await mkdir(at('etc/systemd/system', dir), { recursive: true });
    await symlink('../xspectre-lab-ssh-keygen.service', at('etc/systemd/system', dir, 'xspectre-lab-ssh-keygen.service'));
  }
  // No mirror is reachable from a device: the package lists and downloaded .debs are dead weight.
  await rm(at('var/lib/apt/lists'), { recursive: true, force: true });
  await mkdir(at('var/lib/apt/lists/partial'), { recursive: true });
  for (const entry of await readdir(at('var/cache/apt/archives')).catch(() => [] as string[])) {
    if (entry.endsWith('.deb')) await rm(at('var/cache/apt/archives', entry));
  }
}

/** debootstrap can leave /proc, /sys (and more) mounted in a failed target: unmount before removing. */
async function unmountBelow(dir: string): Promise<void> {
  const mounts = (await readFile('/proc/mounts', 'utf8').catch(() => ''))
    .split('\n')
    .map((line) => line.split(' ')[1] ?? '')
    .filter((point) => point === dir || point.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
  for (const point of mounts) await run('umount', ['-l', point]);
}
