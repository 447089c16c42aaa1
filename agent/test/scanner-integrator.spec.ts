// The scanner integrator against a real Docker engine and the stand-in gvmd (issue 19): containers
// named and labelled like the vendor's compose services, gvmd's /run/gvmd a host directory where the
// stand-in listens. The engine is this test's own (its own data root, exec root, socket, cgroup
// parent and mount namespace, the fleet lab's flags from infra/lab/src/docker.ts), so other tests
// starting and stopping the lab's engine cannot pull it away mid-run.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { HeartbeatSchema, ScannerStatsSchema, type Heartbeat, type ScannerStats } from '@xspectre/contracts';
import { telemetrySource } from '../src/collectors/telemetry.js';
import { jsonLogger } from '../src/log.js';
import { heartbeatLoop } from '../src/run.js';
import { discoverGreenbone } from '../src/scanner/discovery.js';
import { ScannerIntegrator } from '../src/scanner/integrator.js';
import { MONITOR_USERNAME, writeMonitorAccount } from '../src/scanner/monitor-account.js';
import { INITIAL_STATE, StateStore } from '../src/state.js';
import { sampleAck, sampleConfig } from './fixtures.js';
import { SENSITIVE_STRINGS, startGvmdStandin, type GvmdStandin } from './gvmd-standin/index.js';
import { dockerAnswers, dockerCli, dockerdArgs, importBusyboxImage, stopDockerd, waitForDockerd } from './test-dockerd.js';

const run = promisify(execFile);
const RUN_ROOT = '/run/xs-scan';
const SOCKET = `${RUN_ROOT}/docker.sock`;
const DATA_ROOT = '/var/lib/xspectre-scanner-test/docker';
const PROJECT = 'greenbone-community-edition';
const IMAGE = 'xspectre-test/busybox:scanner';
const FEED_IMAGE = 'xspectre-test/vulnerability-tests:202612040600';
const MONITOR_PASSWORD = 'monitor-secret-Xk29fQ7pLw3Z';

const docker = dockerCli(SOCKET);
const answers = () => dockerAnswers(SOCKET);
const name = (service: string) => `${PROJECT}-${service}-1`;

/**
 * Active cgroup v1 hierarchies (listed in /proc/self/cgroup) that are mounted nowhere in this
 * mount namespace. containerd reads a container's stats and OOM notifications through every
 * hierarchy its process is in and gives up when one is not mounted: in this sandbox, a lab device
 * container mounting hugetlb, net_cls or perf_event in its own namespace makes them active for
 * everyone. Only hierarchies that are already active are mounted (mounting another would create it).
 */
async function unmountedHierarchies(mountinfo = '/proc/self/mountinfo'): Promise<string[]> {
  const mounted = (await readFile(mountinfo, 'utf8'))
    .split('\n')
    .map((line) => line.split(' - ')[1]?.split(' ') ?? [])
    .filter(([fstype]) => fstype === 'cgroup')
    .map((fields) => new Set((fields[2] ?? '').split(',')));
  return (await readFile('/proc/self/cgroup', 'utf8')).split('\n').flatMap((line) => {
    const controllers = line.split(':')[1];
    if (!controllers || !/^[a-z_=,]+$/.test(controllers)) return [];
    const wanted = controllers.split(',');
    return mounted.some((options) => wanted.every((c) => options.has(c))) ? [] : [controllers];
  });
}

/**
 * Hierarchies that became active after the engine started (a lab device container started
 * meanwhile) are mounted into the engine's namespace too, before each test that needs them.
 */
async function mountNewHierarchies(): Promise<void> {
  const pid = (await readFile(`${RUN_ROOT}/dockerd.pid`, 'utf8')).trim();
  const missing = await unmountedHierarchies(`/proc/${pid}/mountinfo`);
  for (const controllers of missing) {
    const target = `${RUN_ROOT}/cg/${controllers}`;
    await run('nsenter', [
      `--mount=/proc/${pid}/ns/mnt`,
      'sh',
      '-c',
      'mkdir -p "$1" && mount -t cgroup -o "$2" cgroup "$1"',
      'sh',
      target,
      controllers,
    ]);
  }
}

/** A busybox image (one binary and its libraries) imported from a tar stream: no registry is reachable here. */
async function ensureImages(): Promise<void> {
  if ((await docker(['images', '--quiet', IMAGE])).trim() === '')
    await importBusyboxImage(SOCKET, IMAGE, { applets: ['sleep', 'sh', 'tail'] });
  await docker(['tag', IMAGE, FEED_IMAGE]);
}

/** A container of the compose project, labelled as `docker compose` labels it. */
async function composeContainer(service: string, extra: string[] = [], command = ['/bin/sleep', '3600']): Promise<void> {
  await docker(['rm', '--force', name(service)]).catch(() => undefined);
  await docker([
    'run',
    '--detach',
    '--name',
    name(service),
    '--network',
    'none',
    '--label',
    `com.docker.compose.project=${PROJECT}`,
    '--label',
    `com.docker.compose.service=${service}`,
    '--label',
    'com.docker.compose.oneoff=False',
    ...extra,
    service === 'vulnerability-tests' ? FEED_IMAGE : IMAGE,
    ...command,
  ]);
}

const SERVICES = ['gvmd', 'ospd-openvas', 'redis-server', 'pg-gvm', 'gsa', 'vulnerability-tests'];

describe('the scanner integrator on a compose install', () => {
  let started: ChildProcess | null = null;
  let dir: string;
  let gvmdRun: string;
  let stateDir: string;
  let standin: GvmdStandin;
  const lines: string[] = [];
  const log = jsonLogger((line) => lines.push(line));

  beforeAll(async () => {
    if (!(await answers())) {
      await mkdir(DATA_ROOT, { recursive: true, mode: 0o700 });
      await mkdir(`${RUN_ROOT}/docker`, { recursive: true, mode: 0o700 });
      const logFd = openSync(join(tmpdir(), `xspectre-scanner-dockerd-${process.pid}.log`), 'w');
      // Started in its own mount namespace, where every active cgroup v1 hierarchy is mounted (see unmountedHierarchies).
      const hierarchies = await unmountedHierarchies();
      const script =
        'for c in $XS_CGROUPS; do mkdir -p "$XS_CG/$c" && mount -t cgroup -o "$c" cgroup "$XS_CG/$c" || echo "cannot mount $c" >&2; done; exec dockerd "$@"';
      started = spawn(
        'unshare',
        [
          '--mount',
          '--propagation',
          'private',
          'sh',
          '-c',
          script,
          'sh',
          ...dockerdArgs({ dataRoot: DATA_ROOT, runRoot: RUN_ROOT, socket: SOCKET }),
          '--cgroup-parent',
          '/xspectre-scanner-test',
        ],
        { stdio: ['ignore', logFd, logFd], env: { ...process.env, XS_CGROUPS: hierarchies.join(' '), XS_CG: `${RUN_ROOT}/cg` } },
      );
      closeSync(logFd);
      await waitForDockerd(SOCKET, started);
    }
    await ensureImages();
    dir = await mkdtemp(join(tmpdir(), 'xs-scan-'));
    gvmdRun = join(dir, 'gvmd-run');
    stateDir = join(dir, 'state');
    await mkdir(gvmdRun);
    await mkdir(stateDir);
    standin = await startGvmdStandin({
      socketPath: join(gvmdRun, 'gvmd.sock'),
      users: [{ username: MONITOR_USERNAME, password: MONITOR_PASSWORD }],
    });
    await writeMonitorAccount(stateDir, {
      username: MONITOR_USERNAME,
      password: MONITOR_PASSWORD,
      createdAt: '2026-12-04T09:00:00.000Z',
      defaultAdminPassword: true,
      checkedAt: '2026-12-04T09:00:00.000Z',
    });
    for (const service of SERVICES) {
      if (service === 'gvmd') await composeContainer(service, ['--volume', `${gvmdRun}:/run/gvmd`]);
      else if (service === 'vulnerability-tests') await composeContainer(service, [], ['/bin/sh', '-c', 'exit 0']);
      else await composeContainer(service);
    }
  }, 180_000);

  afterAll(async () => {
    for (const service of SERVICES) await docker(['rm', '--force', name(service)]).catch(() => undefined);
    await standin?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
    await stopDockerd(started);
  }, 90_000);

  beforeEach(() => mountNewHierarchies());

  const integrator = (clock: { now: Date }, state = stateDir) =>
    new ScannerIntegrator({
      stateDir: state,
      dockerSocket: SOCKET,
      log,
      now: () => clock.now,
      systemctl: () => Promise.reject(new Error('no gvmd.service here')),
    });

  it('discovers gvmd by its compose labels and its socket through the /run/gvmd mount', async () => {
    const found = await discoverGreenbone({ dockerSocket: SOCKET, systemctl: () => Promise.reject(new Error('none')) });
    expect(found).toMatchObject({ method: 'compose', composeProject: PROJECT, gvmd: name('gvmd'), socketPath: join(gvmdRun, 'gvmd.sock') });
    expect([...found!.coreContainers.keys()].sort()).toEqual(['gvmd', 'ospd-openvas', 'pg-gvm', 'redis-server']);
  });

  it('reports GMP, the core containers, the feed data image and Docker data, and nothing of the scans', async () => {
    const stats = await integrator({ now: new Date() }).poll();
    expect(ScannerStatsSchema.parse(stats)).toEqual(stats);
    expect(stats.discovery).toEqual({ method: 'compose', composeProject: PROJECT, gvmd: name('gvmd') });
    expect(stats.account).toBe('monitor');
    expect(stats.defaultAdminPassword).toBe(true);
    expect(stats.gmp).toMatchObject({ reachable: true, error: null });
    expect(stats.tasks.length).toBeGreaterThan(0);
    expect(stats.coreContainers?.map((c) => c.service)).toEqual(['gvmd', 'ospd-openvas', 'redis-server', 'pg-gvm']); // no openvasd
    for (const c of stats.coreContainers!) {
      expect(c).toMatchObject({ container: name(c.service), image: IMAGE, state: 'running', restartCount: 0, lastOomKillAt: null });
      expect(Date.parse(c.startedAt!)).toBeGreaterThan(Date.now() - 600_000);
      expect(c.memoryBytes, lines.join('')).toBeGreaterThan(0);
    }
    expect(stats.feedDataImages).toEqual([{ image: FEED_IMAGE, createdAt: expect.any(String) }]);
    expect(stats.dockerData?.path).toBe(DATA_ROOT);
    expect(stats.dockerData!.totalBytes).toBeGreaterThan(stats.dockerData!.usedBytes);
    expect(stats.hostMemoryBytes).toBeGreaterThan(0);
    // data minimisation: the stand-in holds hosts, ports, NVT names and results; none leaves
    const serialised = JSON.stringify(stats);
    for (const secret of [...SENSITIVE_STRINGS, MONITOR_PASSWORD]) expect(serialised).not.toContain(secret);
  });

  it('without a monitor account asks gvmd its version only', async () => {
    const empty = await mkdtemp(join(dir, 'state-none-'));
    const before = standin.commands.length;
    const stats = await integrator({ now: new Date() }, empty).poll();
    expect(stats.account).toBe('none');
    expect(stats.defaultAdminPassword).toBeNull();
    expect(stats.gmp).toMatchObject({ reachable: true, version: standin.profile.gmpVersion, error: { code: 'permission' } });
    expect(stats.tasks).toEqual([]);
    expect(standin.commands.slice(before)).toEqual(['get_version']);
    expect(stats.coreContainers).toHaveLength(4);
  });

  it('attaches the report on change, not again unchanged within 10 minutes, again after', async () => {
    const clock = { now: new Date() };
    const scanner = integrator(clock);
    await scanner.poll();
    const sent: Heartbeat[] = [];
    const beat = async (count: number) => {
      const shutdown = new AbortController();
      let calls = 0;
      await heartbeatLoop({
        config: sampleConfig(),
        store: new StateStore(stateDir),
        state: INITIAL_STATE,
        log,
        shutdown: shutdown.signal,
        now: () => clock.now,
        uptimeSeconds: () => 5,
        telemetry: telemetrySource({ scanner }, log),
        sleep: () => Promise.resolve(),
        send: (_config, hb) => {
          sent.push(HeartbeatSchema.parse(hb));
          if (++calls === count) shutdown.abort();
          return Promise.resolve(sampleAck({ lastSequence: hb.sequence }));
        },
      });
    };
    await beat(2);
    expect(sent.map((hb) => hb.scannerStats !== undefined)).toEqual([true, false]);
    clock.now = new Date(clock.now.getTime() + 9 * 60_000);
    await beat(1);
    expect(sent[2]?.scannerStats).toBeUndefined();
    clock.now = new Date(clock.now.getTime() + 60_000);
    await beat(1);
    expect(sent[3]?.scannerStats).toEqual(scanner.latest());

    // a core container removed: changed, attached at once, reported missing
    await docker(['rm', '--force', name('pg-gvm')]);
    await scanner.poll();
    await beat(2);
    expect(sent.slice(4).map((hb) => hb.scannerStats !== undefined)).toEqual([true, false]);
    expect(sent[4]?.scannerStats?.coreContainers?.find((c) => c.service === 'pg-gvm')).toEqual({
      service: 'pg-gvm',
      container: null,
      image: null,
      state: 'missing',
      restartCount: 0,
      startedAt: null,
      lastOomKillAt: null,
      memoryBytes: null,
    });
    for (const hb of sent) for (const secret of SENSITIVE_STRINGS) expect(JSON.stringify(hb)).not.toContain(secret);
    await composeContainer('pg-gvm');
  });

  it('reports an OOM-killed core container, and keeps it after the container is replaced', async () => {
    const clock = { now: new Date() };
    const scanner = integrator(clock);
    let stats: ScannerStats = await scanner.poll();
    expect(stats.coreContainers?.find((c) => c.service === 'redis-server')?.lastOomKillAt).toBeNull();

    // 16 MiB, no swap beyond it: `tail /dev/zero` keeps one ever-growing "line" and is OOM-killed.
    // Hierarchies activated since the engine started are mounted first (see unmountedHierarchies):
    // one left unmounted blinds the engine's OOM notification. One try: the suites run one file at a
    // time, so nothing activates another hierarchy while this runs.
    await mountNewHierarchies();
    await composeContainer('redis-server', ['--memory', '16m', '--memory-swap', '16m'], ['/bin/tail', '/dev/zero']);
    const outcome = {
      code: (await docker(['wait', name('redis-server')], 120_000)).trim(),
      oomKilled: (await docker(['inspect', '--format', '{{.State.OOMKilled}}', name('redis-server')])).trim(),
    };
    expect(outcome).toEqual({ code: '137', oomKilled: 'true' });

    clock.now = new Date(Date.now() + 2000);
    stats = await scanner.poll();
    const redis = stats.coreContainers?.find((c) => c.service === 'redis-server');
    expect(redis?.state).toBe('exited');
    expect(redis?.lastOomKillAt).not.toBeNull();
    const killedAt = Date.parse(redis!.lastOomKillAt!);
    expect(killedAt).toBeGreaterThan(Date.now() - 300_000);
    expect(killedAt).toBeLessThanOrEqual(Date.now());

    // a new container for the service (what a restart after an OOM kill looks like): the kill is remembered
    await composeContainer('redis-server');
    clock.now = new Date(Date.now() + 2000);
    stats = await scanner.poll();
    const again = stats.coreContainers?.find((c) => c.service === 'redis-server');
    expect(again).toMatchObject({ state: 'running', lastOomKillAt: redis!.lastOomKillAt });
    // and across an agent restart (a new integrator reads what the last one remembered)
    const restarted = await integrator({ now: new Date() }).poll();
    expect(restarted.coreContainers?.find((c) => c.service === 'redis-server')?.lastOomKillAt).toBe(redis!.lastOomKillAt);
  }, 180_000);
});
