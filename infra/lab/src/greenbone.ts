// A lab "Greenbone install" on a device container: in the devices' own Docker engine
// (device-engine.ts), containers named and labelled like the Greenbone Community Edition's
// compose services, so the agent's discovery (compose labels and gvmd's /run/gvmd mount), its
// watch list and its container actions run for real. The containers run the lab's busybox image
// and only wait; GMP itself is answered by a stand-in gvmd that the test starts on `socketPath`
// (agent/test/gvmd-standin). gvmd's /run/gvmd is a host directory that the device container also
// mounts at the same path: the agent reads the mount's Source from the engine and connects to
// `<Source>/gvmd.sock` from inside its device.
import { mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DEVICE_ENGINE_IMAGE, deviceDocker } from './device-engine.js';
import { sleep } from './exec.js';
import { LAB_LABEL } from './docker.js';

/** The vendor's compose project name (docs: "docker compose -p greenbone-community-edition"). */
export const GREENBONE_PROJECT = 'greenbone-community-edition';

/** The services the lab creates: the core ones plus one feed data service. */
export const GREENBONE_SERVICES = ['gvmd', 'ospd-openvas', 'redis-server', 'pg-gvm', 'vulnerability-tests'] as const;
export type GreenboneService = (typeof GREENBONE_SERVICES)[number];

/** Image references as the community compose file names them (the lab's busybox image, tagged so). */
const IMAGES: Record<GreenboneService, string> = {
  gvmd: 'registry.community.greenbone.net/community/gvmd:stable',
  'ospd-openvas': 'registry.community.greenbone.net/community/ospd-openvas:stable',
  'redis-server': 'registry.community.greenbone.net/community/redis-server',
  'pg-gvm': 'registry.community.greenbone.net/community/pg-gvm:stable',
  'vulnerability-tests': 'registry.community.greenbone.net/community/vulnerability-tests',
};

/** Waits until SIGTERM (docker stop/restart end it at once; a bare `sleep` as PID 1 would ignore SIGTERM). */
const WAIT = 'trap "exit 0" TERM; sleep 2147483647 & wait $!';
/**
 * redis-server: waits for the test's trigger file, then (once: the marker file stays) doubles a
 * shell string until its 16 MiB memory limit gets it OOM-killed; Docker's restart policy starts
 * it again, and from then on it only waits. `test` is ash's builtin (the image has no [ link).
 */
const REDIS_OOM_ONCE = [
  'trap "exit 0" TERM',
  'while ! test -e /lab/oom-now; do sleep 1 & wait $!; done',
  'if ! test -e /lab/oom-done; then echo oom > /lab/oom-done; a=0123456789abcdef; while :; do a="$a$a"; done; fi',
  WAIT,
].join('; ');
export const REDIS_MEMORY_LIMIT = '16m';
/** The uid and gid of the gvmd image's `gvmd` user. */
export const GVMD_UID = 1001;

export interface GreenboneOptions {
  /** Compose project name (default GREENBONE_PROJECT). */
  project?: string;
  /**
   * Extra bind mounts of the gvmd container, `HOST:CONTAINER[:ro]` (e.g. a stand-in `gvmd`
   * command line for provisioning, which the agent runs there with `docker exec`).
   */
  gvmdMounts?: string[];
}

/** Where an install's directories live on the host (and, for `runDir`, in the device container too). */
export function greenbonePaths(deviceDir: string) {
  const root = join(deviceDir, 'greenbone');
  return {
    root,
    /** gvmd's /run/gvmd: the stand-in gvmd listens on `<runDir>/gvmd.sock`. */
    runDir: join(root, 'run-gvmd'),
    /** The redis-server container's /lab: its OOM trigger and marker files. */
    controlDir: join(root, 'redis-ctl'),
  };
}

/** Creates the install's host directories before the device container that mounts `runDir` is started. */
export async function prepareGreenboneDirs(deviceDir: string): Promise<ReturnType<typeof greenbonePaths>> {
  const paths = greenbonePaths(deviceDir);
  await mkdir(paths.runDir, { recursive: true, mode: 0o755 });
  await mkdir(paths.controlDir, { recursive: true, mode: 0o700 });
  return paths;
}

export interface ContainerState {
  running: boolean;
  status: string;
  startedAt: string;
  restartCount: number;
  oomKilled: boolean;
}

export class GreenboneInstall {
  readonly paths: ReturnType<typeof greenbonePaths>;

  /** @internal use installGreenbone() (through lab.addContainerDevice({ greenbone: … })) */
  constructor(
    private readonly labId: string,
    deviceDir: string,
    readonly project: string,
  ) {
    this.paths = greenbonePaths(deviceDir);
  }

  /** Where the stand-in gvmd must listen (host path = the path the agent uses in its device). */
  get socketPath(): string {
    return join(this.paths.runDir, 'gvmd.sock');
  }

  /** Compose v2's container name: `<project>-<service>-1`. */
  containerName(service: GreenboneService): string {
    return `${this.project}-${service}-1`;
  }

  /**
   * gvmd's image: the busybox image plus the `gvmd` user the community image runs gvmd as, for
   * `docker exec -u gvmd` (the engine looks a user up in the image's own /etc/passwd, never in a
   * bind mount over it). Built from the local image alone: nothing is downloaded.
   */
  private async buildGvmdImage(): Promise<void> {
    const context = join(this.paths.root, 'gvmd-image');
    await mkdir(context, { recursive: true });
    await writeFile(join(context, 'passwd'), `root:x:0:0:root:/root:/bin/sh\ngvmd:x:${GVMD_UID}:${GVMD_UID}:gvmd:/var/lib/gvm:/bin/sh\n`);
    await writeFile(join(context, 'group'), `root:x:0:\ngvmd:x:${GVMD_UID}:\n`);
    await writeFile(join(context, 'Dockerfile'), `FROM ${DEVICE_ENGINE_IMAGE}\nCOPY passwd group /etc/\n`);
    const built = await deviceDocker(this.labId, ['build', '--quiet', '--tag', IMAGES.gvmd, context], {
      timeoutMs: 120_000,
      env: { ...process.env, DOCKER_BUILDKIT: '0' },
    });
    await rm(context, { recursive: true, force: true });
    if (built.exitCode !== 0) throw new Error(`docker build ${IMAGES.gvmd}: ${built.stderr.trim()}`);
  }

  /** @internal */
  async create(options: GreenboneOptions): Promise<void> {
    for (const service of GREENBONE_SERVICES) {
      if (service === 'gvmd') await this.buildGvmdImage();
      else {
        const tagged = await deviceDocker(this.labId, ['tag', DEVICE_ENGINE_IMAGE, IMAGES[service]]);
        if (tagged.exitCode !== 0) throw new Error(`docker tag ${IMAGES[service]}: ${tagged.stderr.trim()}`);
      }
      const extra: string[] = [];
      let script = WAIT;
      if (service === 'gvmd') {
        extra.push('--volume', `${this.paths.runDir}:/run/gvmd`);
        for (const mount of options.gvmdMounts ?? []) extra.push('--volume', mount);
      }
      if (service === 'redis-server') {
        extra.push('--memory', REDIS_MEMORY_LIMIT, '--memory-swap', REDIS_MEMORY_LIMIT, '--volume', `${this.paths.controlDir}:/lab`);
        script = REDIS_OOM_ONCE;
      }
      const result = await deviceDocker(
        this.labId,
        [
          'run',
          '--detach',
          '--name',
          this.containerName(service),
          '--network',
          'none',
          // The compose file's restart policy for its long-running services.
          '--restart',
          'on-failure',
          '--label',
          `${LAB_LABEL}=${this.labId}`,
          // The labels Docker Compose v2 puts on a service's container.
          '--label',
          `com.docker.compose.project=${this.project}`,
          '--label',
          `com.docker.compose.service=${service}`,
          '--label',
          'com.docker.compose.container-number=1',
          '--label',
          'com.docker.compose.oneoff=False',
          '--label',
          `com.docker.compose.project.working_dir=/root/greenbone-community-container`,
          '--label',
          `com.docker.compose.project.config_files=/root/greenbone-community-container/docker-compose.yml`,
          ...extra,
          IMAGES[service],
          '/bin/sh',
          '-c',
          script,
        ],
        { timeoutMs: 60_000 },
      );
      if (result.exitCode !== 0) throw new Error(`docker run ${this.containerName(service)} in the device engine: ${result.stderr.trim()}`);
    }
  }

  async state(service: GreenboneService): Promise<ContainerState> {
    const name = this.containerName(service);
    const result = await deviceDocker(this.labId, ['inspect', '--format', '{{json .State}}\t{{.RestartCount}}', name]);
    if (result.exitCode !== 0) throw new Error(`docker inspect ${name}: ${result.stderr.trim()}`);
    const [json = '{}', restarts = '0'] = result.stdout.trim().split('\t');
    const s = JSON.parse(json) as { Running: boolean; Status: string; StartedAt: string; OOMKilled: boolean };
    return { running: s.Running, status: s.Status, startedAt: s.StartedAt, restartCount: Number(restarts), oomKilled: s.OOMKilled };
  }

  /**
   * Docker's events for one service's container since `since` (e.g. `oom`, `die` with its exit
   * code): what the engine reported, which is all the agent learns of a kill.
   */
  async events(service: GreenboneService, since: Date): Promise<Array<{ action: string; exitCode: string | null; at: Date }>> {
    const result = await deviceDocker(
      this.labId,
      [
        'events',
        '--since',
        String(Math.floor(since.getTime() / 1000)),
        '--until',
        String(Math.ceil(Date.now() / 1000) + 1),
        '--filter',
        'type=container',
        '--filter',
        `container=${this.containerName(service)}`,
        '--format',
        '{{json .}}',
      ],
      { timeoutMs: 30_000 },
    );
    if (result.exitCode !== 0) throw new Error(`docker events: ${result.stderr.trim()}`);
    return result.stdout
      .split('\n')
      .filter(Boolean)
      .map((line) => {
        const e = JSON.parse(line) as { Action: string; Actor?: { Attributes?: Record<string, string> }; timeNano: number };
        return { action: e.Action, exitCode: e.Actor?.Attributes?.exitCode ?? null, at: new Date(e.timeNano / 1e6) };
      });
  }

  /** `docker stop` / `docker start` of one service's container (a scenario's "container down"). */
  async stop(service: GreenboneService): Promise<void> {
    const result = await deviceDocker(this.labId, ['stop', '--time', '5', this.containerName(service)], { timeoutMs: 60_000 });
    if (result.exitCode !== 0) throw new Error(`docker stop ${this.containerName(service)}: ${result.stderr.trim()}`);
  }

  async start(service: GreenboneService): Promise<void> {
    const result = await deviceDocker(this.labId, ['start', this.containerName(service)], { timeoutMs: 60_000 });
    if (result.exitCode !== 0) throw new Error(`docker start ${this.containerName(service)}: ${result.stderr.trim()}`);
  }

  /**
   * Makes redis-server allocate until the kernel OOM-kills it (its cgroup memory limit), once;
   * resolves when Docker has restarted it and it waits again. Returns its state from then.
   */
  async oomKillRedisOnce(timeoutMs = 60_000): Promise<ContainerState> {
    const before = await this.state('redis-server');
    await writeFile(join(this.paths.controlDir, 'oom-now'), 'now\n');
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const done = await stat(join(this.paths.controlDir, 'oom-done')).then(
        () => true,
        () => false,
      );
      const now = await this.state('redis-server');
      if (done && now.status === 'running' && now.restartCount > before.restartCount) return now; // not while `restarting`
      if (Date.now() > deadline)
        throw new Error(`redis-server was not OOM-killed and restarted within ${timeoutMs / 1000} s: ${JSON.stringify(now)}`);
      await sleep(250);
    }
  }

  /** Removes the install's containers and directories (the device engine's teardown would remove the containers too). */
  async remove(): Promise<void> {
    const names = GREENBONE_SERVICES.map((s) => this.containerName(s));
    const result = await deviceDocker(this.labId, ['rm', '--force', '--volumes', ...names], { timeoutMs: 60_000 });
    if (result.exitCode !== 0 && !/No such container/i.test(result.stderr)) throw new Error(`docker rm: ${result.stderr.trim()}`);
    await rm(this.paths.root, { recursive: true, force: true });
  }
}

/** Creates the install's containers in the devices' engine (its directories exist: prepareGreenboneDirs). */
export async function installGreenbone(labId: string, deviceDir: string, options: GreenboneOptions = {}): Promise<GreenboneInstall> {
  const install = new GreenboneInstall(labId, deviceDir, options.project ?? GREENBONE_PROJECT);
  await install.create(options);
  return install;
}
