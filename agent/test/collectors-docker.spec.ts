// The Docker collector against a real engine: the fleet lab's dockerd (infra/lab/src/docker.ts).
// Uses it when it already answers; otherwise starts it with the lab's exact flags and stops it after.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { access, copyFile, mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DockerReportSchema } from '@xspectre/contracts';
import { DockerCollector } from '../src/collectors/docker.js';

const run = promisify(execFile);
const RUN_ROOT = '/run/xspectre-lab';
const SOCKET = `${RUN_ROOT}/docker.sock`;
const DATA_ROOT = '/var/lib/xspectre-lab/docker';
const CONTAINER = `xspectre-agent-collectors-${process.pid}`;

const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );
const docker = async (args: string[], timeout = 60_000) => (await run('docker', ['-H', `unix://${SOCKET}`, ...args], { timeout })).stdout;
const answers = () =>
  docker(['version', '--format', '{{.Server.Version}}'], 10_000).then(
    () => true,
    () => false,
  );
const TINY_IMAGE = 'xspectre-test/busybox:1';

/**
 * A container image of one busybox binary and the libraries it links, imported from a tar
 * stream: no registry is reachable here, and this needs nothing the lab tests build first.
 */
async function ensureTinyImage(): Promise<string> {
  if ((await docker(['images', '--quiet', TINY_IMAGE])).trim() !== '') return TINY_IMAGE;
  const root = await mkdtemp(join(tmpdir(), 'xspectre-busybox-'));
  try {
    const busybox = (await run('sh', ['-c', 'command -v busybox'])).stdout.trim();
    const libs = (await run('ldd', [busybox])).stdout.match(/\/[^\s)]+/g) ?? [];
    for (const file of [busybox, ...libs]) {
      await mkdir(join(root, dirname(file)), { recursive: true });
      await copyFile(file, join(root, file));
    }
    await mkdir(join(root, 'bin'), { recursive: true });
    await symlink(busybox, join(root, 'bin/sleep')).catch(() => undefined);
    await symlink(busybox, join(root, 'bin/sh')).catch(() => undefined);
    const tar = spawn('tar', ['-C', root, '-c', '.'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const imported = spawn('docker', ['-H', `unix://${SOCKET}`, 'import', '-', TINY_IMAGE], { stdio: [tar.stdout, 'ignore', 'inherit'] });
    const code = await new Promise<number | null>((resolve) => imported.once('exit', resolve));
    if (code !== 0) throw new Error(`docker import exited ${code}`);
    return TINY_IMAGE;
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

// Root, dockerd and busybox come from the lab packages `npm test` installs: missing ones fail here.
describe('DockerCollector against a real engine', () => {
  let started: ChildProcess | null = null;
  let image = '';

  beforeAll(async () => {
    if (!(await answers())) {
      await mkdir(DATA_ROOT, { recursive: true, mode: 0o700 });
      await mkdir(`${RUN_ROOT}/docker`, { recursive: true, mode: 0o700 });
      const logFd = openSync(join(tmpdir(), `xspectre-agent-dockerd-${process.pid}.log`), 'w');
      // the flags of infra/lab/src/docker.ts ensureDockerd(): no iptables, no NAT, no bridge, no ip_forward change
      started = spawn(
        'dockerd',
        [
          '--iptables=false',
          '--ip6tables=false',
          '--ip-forward=false',
          '--ip-masq=false',
          '--bridge=none',
          '--data-root',
          DATA_ROOT,
          '--exec-root',
          `${RUN_ROOT}/docker`,
          '-H',
          `unix://${SOCKET}`,
          '--pidfile',
          `${RUN_ROOT}/dockerd.pid`,
        ],
        { stdio: ['ignore', logFd, logFd] },
      );
      closeSync(logFd);
      const deadline = Date.now() + 60_000;
      while (!(await answers())) {
        if (started.exitCode !== null || Date.now() > deadline) throw new Error('dockerd did not come up');
        await new Promise((r) => setTimeout(r, 250));
      }
    }
    image = await ensureTinyImage();
    await docker(['run', '--detach', '--name', CONTAINER, '--network', 'none', image, '/bin/sleep', '300']);
  }, 120_000);

  afterAll(async () => {
    await docker(['rm', '--force', CONTAINER]).catch(() => undefined);
    if (started && started.exitCode === null) {
      const exited = new Promise((r) => started?.once('exit', r));
      started.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 30_000))]);
    }
  }, 60_000);

  it('reports a running container with its stats', async () => {
    const collector = new DockerCollector(SOCKET);
    const report = await collector.collect();
    expect(DockerReportSchema.parse(report).status).toBe('ok');
    const mine = report.status === 'ok' ? report.containers.find((c) => c.name === CONTAINER) : undefined;
    expect(mine).toMatchObject({ state: 'running', image, restartCount: 0 });
    expect(mine?.memoryBytes).toBeGreaterThan(0);
    // the second reading has a CPU figure (one-shot stats carry no earlier reading: the collector keeps it)
    const again = await collector.collect();
    const mineAgain = again.status === 'ok' ? again.containers.find((c) => c.name === CONTAINER) : undefined;
    expect(mineAgain?.cpuPercent).toBeGreaterThanOrEqual(0);
  });

  it('reports not_installed for a missing socket', async () => {
    expect(await exists('/nonexistent/docker.sock')).toBe(false);
    expect(await new DockerCollector('/nonexistent/docker.sock').collect()).toEqual({ status: 'not_installed' });
  });
});
