import { randomBytes } from 'node:crypto';
import { COMPOSE_PROJECT_LABEL, COMPOSE_SERVICE_LABEL, type GreenboneInstall } from './discovery.js';
import { EngineError, engineJson, engineMessage, engineRequest, pullImage, type PullOutcome } from './action-docker.js';

/**
 * `scanner.feed-update`: the vendor's feed update for a compose install ("docker compose pull" of
 * the feed data services, then "docker compose up -d"), done over the Engine API: pull each feed
 * data service's image; when the pull brought a new image, recreate the service's container from
 * it with the same configuration; then restart gvmd and ospd-openvas so they load the new data.
 *
 * A container is replaced safely: the new one is created under a temporary name first (a failed
 * create loses nothing), the old one is renamed aside, the new one takes the name and starts; only
 * then is the old one removed (its volumes never: they hold the feed data the others read). Any
 * failure on the way puts the old container back under its name.
 */
export const FEED_DATA_SERVICES = [
  'vulnerability-tests',
  'notus-data',
  'scap-data',
  'dfn-cert-data',
  'cert-bund-data',
  'data-objects',
  'report-formats',
  'gpg-data',
] as const;
/** Restarted after new feed data, as `docker compose up -d` would through their dependencies. */
export const FEED_READERS = ['gvmd', 'ospd-openvas'] as const;

export type FeedServiceOutcome =
  | { service: string; outcome: 'unchanged'; image: string }
  | { service: string; outcome: 'recreated'; image: string; pruned: 'removed' | 'in use' | 'kept' | 'failed' }
  | { service: string; outcome: 'failed'; image: string | null; reason: string };

export interface FeedUpdateSummary {
  project: string;
  services: FeedServiceOutcome[];
  restarted: Array<{ service: string; outcome: 'restarted' | 'failed' | 'absent'; reason?: string }>;
}

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : {});
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

interface FeedContainer {
  id: string;
  name: string;
  service: string;
}

/** The project's containers of the feed data services (GET /containers/json?all=1 filtered by the project label). */
export async function feedContainers(socket: string, project: string): Promise<FeedContainer[]> {
  const filters = encodeURIComponent(JSON.stringify({ label: [`${COMPOSE_PROJECT_LABEL}=${project}`] }));
  const listed = await engineJson(socket, 'GET', `/containers/json?all=1&filters=${filters}`, undefined, 'list the containers');
  if (!Array.isArray(listed)) throw new EngineError('list the containers: not an array');
  const found = new Map<string, FeedContainer>();
  for (const entry of listed) {
    const c = obj(entry);
    const service = str(obj(c.Labels)[COMPOSE_SERVICE_LABEL]);
    const id = str(c.Id);
    if (id === null || service === null || !(FEED_DATA_SERVICES as readonly string[]).includes(service)) continue;
    const name = (str((Array.isArray(c.Names) ? c.Names : [])[0]) ?? id.slice(0, 12)).replace(/^\//, '');
    if (!found.has(service)) found.set(service, { id, name, service });
  }
  return FEED_DATA_SERVICES.flatMap((s) => found.get(s) ?? []);
}

async function imageId(socket: string, reference: string): Promise<string | null> {
  const answer = await engineRequest(socket, 'GET', `/images/${encodeURIComponent(reference)}/json`);
  if (answer.status === 404) return null;
  if (answer.status !== 200)
    throw new EngineError(`inspect image ${reference}: HTTP ${answer.status}: ${engineMessage(answer)}`, answer.status);
  return str(obj(JSON.parse(answer.body.toString('utf8'))).Id);
}

const NETWORK_MODES_WITHOUT_ENDPOINTS = /^(none|host|container:.*)$/;

/**
 * The create body that makes the same container from `image`: its Config (labels, command,
 * environment, volumes…) and HostConfig (binds, mounts, restart policy…) as inspected, its first
 * network with the same aliases. The hostname is dropped when it is the old container's id (the
 * engine's default), so the new one gets its own.
 */
export function recreateBody(inspected: Obj, image: string): { body: Obj; otherNetworks: Array<[string, Obj]> } {
  const config = { ...obj(inspected.Config) };
  const id = str(inspected.Id) ?? '';
  if (typeof config.Hostname === 'string' && id.startsWith(config.Hostname)) delete config.Hostname;
  config.Image = image;
  const hostConfig = obj(inspected.HostConfig);
  const mode = str(hostConfig.NetworkMode) ?? '';
  const networks = Object.entries(obj(obj(inspected.NetworkSettings).Networks)).map(([name, endpoint]): [string, Obj] => {
    const e = obj(endpoint);
    const aliases = Array.isArray(e.Aliases) ? e.Aliases.filter((a) => typeof a === 'string' && !id.startsWith(a)) : [];
    return [name, { ...(aliases.length ? { Aliases: aliases } : {}), ...(e.IPAMConfig ? { IPAMConfig: e.IPAMConfig } : {}) }];
  });
  const endpoints = NETWORK_MODES_WITHOUT_ENDPOINTS.test(mode) ? [] : networks;
  const [first, ...rest] = endpoints;
  return {
    body: { ...config, HostConfig: hostConfig, ...(first ? { NetworkingConfig: { EndpointsConfig: { [first[0]]: first[1] } } } : {}) },
    otherNetworks: rest,
  };
}

const containerPath = (id: string, tail = '') => `/containers/${encodeURIComponent(id)}${tail}`;

/**
 * Replaces container `id` by one made from `image` with the same configuration and name (see the
 * file comment for the order). Resolves the new container's id; rejects with the step that failed,
 * after putting the old container back.
 */
export async function recreateContainer(socket: string, id: string, image: string): Promise<string> {
  const inspected = obj(await engineJson(socket, 'GET', containerPath(id, '/json'), undefined, 'inspect the container'));
  const name = (str(inspected.Name) ?? '').replace(/^\//, '');
  if (name === '') throw new EngineError('inspect the container: no name');
  const wasRunning = obj(inspected.State).Running === true;
  const suffix = randomBytes(4).toString('hex');
  const { body, otherNetworks } = recreateBody(inspected, image);
  const created = obj(
    await engineJson(
      socket,
      'POST',
      `/containers/create?name=${encodeURIComponent(`${name}-xspectre-new-${suffix}`)}`,
      body,
      'create the new container',
    ),
  );
  const newId = str(created.Id);
  if (newId === null) throw new EngineError('create the new container: no id in the answer');
  const removeNew = () => engineRequest(socket, 'DELETE', containerPath(newId, '?force=1')).catch(() => undefined);
  try {
    for (const [network, endpoint] of otherNetworks)
      await engineJson(
        socket,
        'POST',
        `/networks/${encodeURIComponent(network)}/connect`,
        { Container: newId, EndpointConfig: endpoint },
        `connect to ${network}`,
      );
  } catch (err) {
    await removeNew();
    throw err;
  }
  const aside = `${name}-xspectre-old-${suffix}`;
  try {
    if (wasRunning)
      await engineJson(socket, 'POST', containerPath(id, '/stop?t=30'), undefined, 'stop the old container').catch(ignoreNotModified);
    await engineJson(socket, 'POST', containerPath(id, `/rename?name=${encodeURIComponent(aside)}`), undefined, 'rename the old container');
  } catch (err) {
    await removeNew();
    if (wasRunning) await engineRequest(socket, 'POST', containerPath(id, '/start')).catch(() => undefined);
    throw err;
  }
  try {
    await engineJson(
      socket,
      'POST',
      containerPath(newId, `/rename?name=${encodeURIComponent(name)}`),
      undefined,
      'give the new container the name',
    );
    await engineJson(socket, 'POST', containerPath(newId, '/start'), undefined, 'start the new container').catch(ignoreNotModified);
  } catch (err) {
    await removeNew();
    await engineRequest(socket, 'POST', containerPath(id, `/rename?name=${encodeURIComponent(name)}`)).catch(() => undefined);
    if (wasRunning) await engineRequest(socket, 'POST', containerPath(id, '/start')).catch(() => undefined);
    throw err;
  }
  // The old container goes; its volumes stay (v=0): they are the feed data.
  await engineRequest(socket, 'DELETE', containerPath(id, '?force=1&v=0')).catch(() => undefined);
  return newId;
}

function ignoreNotModified(err: unknown): void {
  if (err instanceof EngineError && err.status === 304) return;
  throw err;
}

/** How long a run-once data container may take to copy its data (the vendor's compose waits for it: service_completed_successfully). */
export const DATA_COPY_TIMEOUT_MS = 15 * 60_000;

/** Waits for a container to stop; its exit code, or an EngineError. */
async function waitForExit(socket: string, id: string, timeoutMs: number): Promise<number> {
  const answer = await engineRequest(socket, 'POST', containerPath(id, '/wait?condition=not-running'), undefined, { timeoutMs });
  if (answer.status !== 200)
    throw new EngineError(`wait for the data copy: HTTP ${answer.status}: ${engineMessage(answer)}`, answer.status);
  const code = obj(JSON.parse(answer.body.toString('utf8'))).StatusCode;
  if (typeof code !== 'number') throw new EngineError('wait for the data copy: no exit code in the answer');
  return code;
}

export interface FeedUpdateOptions {
  install: GreenboneInstall;
  dockerSocket: string;
  pruneOldImages: boolean;
  /** Pulls one image reference (default: POST /images/create; a test passes a local stand-in). */
  pull?: (reference: string) => Promise<PullOutcome>;
  /** Restarts one core container (default POST /containers/{id}/restart). */
  restart?: (id: string) => Promise<void>;
  dataCopyTimeoutMs?: number;
}

export async function updateFeeds(options: FeedUpdateOptions): Promise<FeedUpdateSummary> {
  const { install, dockerSocket: socket } = options;
  if (install.method !== 'compose' || install.composeProject === null)
    throw new EngineError('feed updates need the compose install (a source install updates its feeds with greenbone-feed-sync)');
  const pull = options.pull ?? ((reference: string) => pullImage(socket, reference));
  const summary: FeedUpdateSummary = { project: install.composeProject, services: [], restarted: [] };
  for (const container of await feedContainers(socket, install.composeProject)) {
    let reference: string | null = null;
    try {
      const inspected = obj(await engineJson(socket, 'GET', containerPath(container.id, '/json'), undefined, 'inspect the container'));
      reference = str(obj(inspected.Config).Image);
      const before = str(inspected.Image);
      // The community compose file's data services copy their data into volumes and exit.
      const runOnce = obj(inspected.State).Running !== true;
      if (reference === null || before === null) throw new EngineError('the container names no image');
      const pulled = await pull(reference);
      if (!pulled.ok) {
        summary.services.push({ service: container.service, outcome: 'failed', image: reference, reason: `pull: ${pulled.error}` });
        continue;
      }
      const after = await imageId(socket, reference);
      if (after === null || after === before) {
        summary.services.push({ service: container.service, outcome: 'unchanged', image: reference });
        continue;
      }
      const replacement = await recreateContainer(socket, container.id, reference);
      if (runOnce) {
        // As `docker compose up` does before starting gvmd and ospd-openvas: the copy must have finished, and well.
        const code = await waitForExit(socket, replacement, options.dataCopyTimeoutMs ?? DATA_COPY_TIMEOUT_MS);
        if (code !== 0) throw new EngineError(`the new container's data copy exited ${code}`);
      }
      let pruned: 'removed' | 'in use' | 'kept' | 'failed' = 'kept';
      if (options.pruneOldImages) {
        const removed = await engineRequest(socket, 'DELETE', `/images/${encodeURIComponent(before)}`).catch(() => null);
        pruned = removed === null ? 'failed' : removed.status === 200 ? 'removed' : removed.status === 409 ? 'in use' : 'failed';
      }
      summary.services.push({ service: container.service, outcome: 'recreated', image: reference, pruned });
    } catch (err) {
      summary.services.push({
        service: container.service,
        outcome: 'failed',
        image: reference,
        reason: (err instanceof Error ? err.message : String(err)).slice(0, 300),
      });
    }
  }
  if (summary.services.some((s) => s.outcome === 'recreated')) {
    const restart =
      options.restart ??
      (async (id: string) => {
        await engineJson(socket, 'POST', containerPath(id, '/restart?t=30'), undefined, 'restart');
      });
    for (const service of FEED_READERS) {
      const core = install.coreContainers.get(service);
      if (!core) {
        summary.restarted.push({ service, outcome: 'absent' });
        continue;
      }
      try {
        await restart(core.id);
        summary.restarted.push({ service, outcome: 'restarted' });
      } catch (err) {
        summary.restarted.push({ service, outcome: 'failed', reason: (err instanceof Error ? err.message : String(err)).slice(0, 300) });
      }
    }
  }
  return summary;
}
