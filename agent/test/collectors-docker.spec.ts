// The Docker collector against a real engine: the fleet lab's dockerd (infra/lab/src/docker.ts).
// Uses it when it already answers; otherwise starts it with the lab's exact flags and stops it after.
import type { ChildProcess } from 'node:child_process';
import { access } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DockerReportSchema } from '@xspectre/contracts';
import { DockerCollector } from '../src/collectors/docker.js';
import { dockerCli, ensureLabDockerd, importBusyboxImage, LAB_DOCKER_SOCKET as SOCKET, stopDockerd } from './test-dockerd.js';

const CONTAINER = `xspectre-agent-collectors-${process.pid}`;

const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );
const docker = dockerCli(SOCKET);
const TINY_IMAGE = 'xspectre-test/busybox:1';

/** One busybox binary and its libraries: no registry is reachable here, and this needs nothing the lab tests build first. */
async function ensureTinyImage(): Promise<string> {
  if ((await docker(['images', '--quiet', TINY_IMAGE])).trim() === '') await importBusyboxImage(SOCKET, TINY_IMAGE);
  return TINY_IMAGE;
}

// Root, dockerd and busybox come from the lab packages `npm test` installs: missing ones fail here.
describe('DockerCollector against a real engine', () => {
  let started: ChildProcess | null = null;
  let image = '';

  beforeAll(async () => {
    started = await ensureLabDockerd();
    image = await ensureTinyImage();
    await docker(['run', '--detach', '--name', CONTAINER, '--network', 'none', image, '/bin/sleep', '300']);
  }, 120_000);

  afterAll(async () => {
    await docker(['rm', '--force', CONTAINER]).catch(() => undefined);
    await stopDockerd(started);
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
