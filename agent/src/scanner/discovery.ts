import { access } from 'node:fs/promises';
import { posix } from 'node:path';
import { SCANNER_CORE_SERVICES, type ScannerCoreService } from '@xspectre/contracts';
import { dockerGet } from '../collectors/docker.js';
import { parseListedContainers, type ListedContainer } from '../collectors/docker-parsers.js';
import { HOST_SERVICES_SOURCES } from '../collectors/services.js';

/**
 * Where this scanner's Greenbone manager (gvmd) runs and how to reach its GMP socket.
 *
 * The vendor's compose file is used as it is (operators are told to always take the latest one):
 * gvmd is found by its compose labels, and its socket through the host side of its `/run/gvmd`
 * mount, which named volumes have too. Source installs run gvmd as a systemd unit; anything else
 * needs `gmpSocketPath` in the agent config.
 */
export interface GreenboneInstall {
  method: 'compose' | 'systemd' | 'configured';
  /** The compose project (`com.docker.compose.project`); null outside compose. */
  composeProject: string | null;
  /** The gvmd container's name (compose) or unit (systemd); null for a configured socket. */
  gvmd: string | null;
  gvmdContainerId: string | null;
  /** gvmd's GMP socket as seen from the host. */
  socketPath: string;
  /** The compose project's core containers that exist (empty outside compose). */
  coreContainers: Map<ScannerCoreService, { id: string; name: string }>;
}

export interface DiscoveryOptions {
  /** Docker's Engine API socket (DEFAULT_DOCKER_SOCKET in collectors/docker.ts). */
  dockerSocket: string;
  /** `gmpSocketPath` of the agent config: the last resort. */
  configuredSocket?: string | undefined;
  /** Runs systemctl with these arguments and returns stdout; rejects when it fails (default: the host's). */
  systemctl?: ((args: string[]) => Promise<string>) | undefined;
}

export const COMPOSE_PROJECT_LABEL = 'com.docker.compose.project';
export const COMPOSE_SERVICE_LABEL = 'com.docker.compose.service';
export const GVMD_RUN_DIR = '/run/gvmd';
export const GVMD_SOCKET_NAME = 'gvmd.sock';
export const GVMD_UNIT = 'gvmd.service';
/** A source install's socket (gvmd's default --unix-socket). */
export const SYSTEMD_GVMD_SOCKET = `${GVMD_RUN_DIR}/${GVMD_SOCKET_NAME}`;

export { parseListedContainers, type ListedContainer } from '../collectors/docker-parsers.js';

const isCoreService = (service: string | undefined): service is ScannerCoreService =>
  service !== undefined && (SCANNER_CORE_SERVICES as readonly string[]).includes(service);

/**
 * The compose install among listed containers, or null. With several gvmd containers (an old
 * project left behind), a running one with a `/run/gvmd` mount wins.
 */
export function composeInstall(containers: readonly ListedContainer[]): GreenboneInstall | null {
  const runDir = (c: ListedContainer) => c.mounts.find((m) => posix.normalize(m.destination).replace(/\/$/, '') === GVMD_RUN_DIR);
  const candidates = containers
    .filter((c) => c.labels[COMPOSE_SERVICE_LABEL] === 'gvmd' && runDir(c) !== undefined)
    .sort((a, b) => Number(b.state === 'running') - Number(a.state === 'running'));
  const gvmd = candidates[0];
  if (!gvmd) return null;
  const project = gvmd.labels[COMPOSE_PROJECT_LABEL] ?? null;
  const coreContainers = new Map<ScannerCoreService, { id: string; name: string }>();
  for (const c of containers) {
    const service = c.labels[COMPOSE_SERVICE_LABEL];
    if (!isCoreService(service) || (c.labels[COMPOSE_PROJECT_LABEL] ?? null) !== project) continue;
    // gvmd itself is the one chosen above; for the others a running container beats a stopped one.
    if (service === 'gvmd' ? c.id !== gvmd.id : coreContainers.get(service) && c.state !== 'running') continue;
    coreContainers.set(service, { id: c.id, name: c.name });
  }
  return {
    method: 'compose',
    composeProject: project,
    gvmd: gvmd.name,
    gvmdContainerId: gvmd.id,
    socketPath: posix.join(runDir(gvmd)!.source, GVMD_SOCKET_NAME),
    coreContainers,
  };
}

const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

/**
 * Compose first (labels and the `/run/gvmd` mount), then an active `gvmd.service`, then the
 * configured socket. Never throws: a Docker engine that is absent or failing just moves on to the
 * fallbacks; nothing found → null.
 */
export async function discoverGreenbone(options: DiscoveryOptions): Promise<GreenboneInstall | null> {
  if (await exists(options.dockerSocket)) {
    try {
      const found = composeInstall(parseListedContainers(await dockerGet(options.dockerSocket, '/containers/json?all=1')));
      if (found) return found;
    } catch {
      // the engine does not answer: try the other install methods
    }
  }
  const systemctl = options.systemctl ?? HOST_SERVICES_SOURCES.systemctl;
  try {
    // is-active exits non-zero (rejects) for anything but active
    if ((await systemctl(['is-active', GVMD_UNIT])).trim() === 'active') {
      return {
        method: 'systemd',
        composeProject: null,
        gvmd: GVMD_UNIT,
        gvmdContainerId: null,
        socketPath: SYSTEMD_GVMD_SOCKET,
        coreContainers: new Map(),
      };
    }
  } catch {
    // no systemd, or the unit is not active
  }
  const configured = options.configuredSocket?.trim();
  if (configured) {
    return {
      method: 'configured',
      composeProject: null,
      gvmd: null,
      gvmdContainerId: null,
      socketPath: configured,
      coreContainers: new Map(),
    };
  }
  return null;
}
