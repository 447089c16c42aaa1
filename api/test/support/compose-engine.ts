// A Docker engine of the Compose lane's own: the lab's flags (infra/lab/src/docker.ts: no
// iptables, no NAT, no docker0, net.ipv4.ip_forward untouched), its own socket and roots. Its
// data root survives runs, so the images built there are a cache; the engine stops after the spec.
import { spawn } from 'node:child_process';
import { mkdir, open, readFile, rm } from 'node:fs/promises';
import { execa } from 'execa';

export const COMPOSE_RUN_ROOT = '/run/xspectre-compose';
export const COMPOSE_DOCKER_SOCKET = `${COMPOSE_RUN_ROOT}/docker.sock`;
export const COMPOSE_DOCKER_HOST = `unix://${COMPOSE_DOCKER_SOCKET}`;
const DATA_ROOT = '/var/lib/xspectre-compose/docker';
const LOG = `${COMPOSE_RUN_ROOT}/dockerd.log`;
const PID_FILE = `${COMPOSE_RUN_ROOT}/dockerd.pid`;

/** Debian's client speaks the engine's API version; another docker on PATH may be newer. */
export const DOCKER_CLI = '/usr/bin/docker';

export async function dockerAnswers(): Promise<boolean> {
  const r = await execa(DOCKER_CLI, ['-H', COMPOSE_DOCKER_HOST, 'version', '--format', '{{.Server.Version}}'], {
    reject: false,
    timeout: 10_000,
  });
  return r.exitCode === 0;
}

export interface ComposeEngine {
  /** The dockerd this spec started, or null when one already answered on the socket (left running). */
  pid: number | null;
  stop(): Promise<void>;
}

export async function startComposeEngine(): Promise<ComposeEngine> {
  if (await dockerAnswers()) return { pid: null, stop: async () => {} };
  await mkdir(COMPOSE_RUN_ROOT, { recursive: true, mode: 0o700 });
  await mkdir(DATA_ROOT, { recursive: true, mode: 0o700 });
  await rm(PID_FILE, { force: true });
  const log = await open(LOG, 'w', 0o600);
  const child = spawn(
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
      `${COMPOSE_RUN_ROOT}/exec`,
      '-H',
      COMPOSE_DOCKER_HOST,
      '--pidfile',
      PID_FILE,
    ],
    { detached: true, stdio: ['ignore', log.fd, log.fd] },
  );
  await log.close();
  child.unref();
  const pid = child.pid!;
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  const deadline = Date.now() + 60_000;
  while (!(await dockerAnswers())) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`dockerd did not answer on ${COMPOSE_DOCKER_SOCKET}:\n${(await readFile(LOG, 'utf8')).slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return {
    pid,
    stop: async () => {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      const killed = setTimeout(() => child.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(killed);
    },
  };
}
