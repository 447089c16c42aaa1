import { access, readFile, statfs } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  SCANNER_CORE_SERVICES,
  ScannerStatsSchema,
  type CoreContainer,
  type DockerDataUsage,
  type FeedDataImage,
  type ScannerCoreService,
  type ScannerStats,
} from '@xspectre/contracts';
import { writeFileAtomic } from '../atomic-file.js';
import { dockerGet, dockerGetText } from '../collectors/docker.js';
import { statsMemoryBytes } from '../collectors/docker-parsers.js';
import { errorMessage } from '../errors.js';
import { cleanText } from '../facts-parsers.js';
import { collectGmpVersion, collectScannerStats, ScannerStatsCache, type ScannerStatsOptions } from '../gmp/collect.js';
import type { Logger } from '../log.js';
import {
  COMPOSE_PROJECT_LABEL,
  COMPOSE_SERVICE_LABEL,
  discoverGreenbone,
  parseListedContainers,
  type DiscoveryOptions,
  type GreenboneInstall,
  type ListedContainer,
} from './discovery.js';
import {
  coreContainerEntry,
  FEED_DATA_SERVICES,
  feedDataImage,
  filesystemUsage,
  MAX_EVENTS_BYTES,
  oomEventsPath,
  parseCoreInspect,
  parseOomEvents,
  unexplainedOomKill,
} from './docker-engine.js';
import { readMonitorAccount } from './monitor-account.js';

/** How often gvmd and the compose project are polled (and `refreshNow()` at once). */
export const SCANNER_POLL_INTERVAL_MS = 10 * 60_000;
/** An unchanged report is attached to a heartbeat again after this long. */
export const SCANNER_RESEND_INTERVAL_MS = 10 * 60_000;
/** How far back the first poll after a start looks for OOM kills (the engine keeps only recent events). */
export const OOM_LOOKBACK_MS = 24 * 3600_000;
/** The OOM kills seen, per core service, kept across agent restarts (a container restart does not erase one). */
export const OOM_STATE_FILE = 'scanner-oom.json';

/** Core services reported `missing` when their container is absent; openvasd exists only in newer compose files. */
const REQUIRED_SERVICES: ReadonlySet<ScannerCoreService> = new Set(['gvmd', 'ospd-openvas', 'redis-server', 'pg-gvm']);
const MAX_FEED_DATA_IMAGES = 16;
/** A loaded engine can take seconds for a stats sample; a poll every 10 minutes can wait longer than the Docker collector's 5 s. */
const STATS_TIMEOUT_MS = 15_000;

export interface ScannerIntegratorOptions {
  /** The agent's state directory: the monitor account (monitor-account.ts) and the OOM memory live there. */
  stateDir: string;
  dockerSocket: string;
  /** `gmpSocketPath` of the agent config. */
  configuredSocket?: string | undefined;
  log: Logger;
  now?: () => Date;
  pollIntervalMs?: number;
  resendIntervalMs?: number;
  systemctl?: DiscoveryOptions['systemctl'];
  /** Deadlines of the GMP session (collect.ts defaults otherwise). */
  gmp?: Pick<ScannerStatsOptions, 'connectTimeoutMs' | 'sessionTimeoutMs' | 'commandTimeoutMs' | 'commandTimeouts'>;
  hostMemoryBytes?: () => number | null;
}

/** A report due in the next heartbeat, and the key to acknowledge it with. */
export interface DueScannerStats {
  scannerStats: ScannerStats;
  key: string;
}

/**
 * What identifies a report for change detection: everything but the time it was collected and
 * GMP's latency (both differ on every poll).
 */
export function scannerStatsKey(stats: ScannerStats): string {
  return JSON.stringify({ ...stats, collectedAt: null, gmp: { ...stats.gmp, latencyMs: null } });
}

/** A report with no GMP session (no socket found): only why, plus the Docker parts. */
function noSession(collectedAt: string, message: string): ScannerStats {
  return {
    collectedAt,
    gmp: { reachable: false, error: { code: 'socket_missing', message }, latencyMs: null, version: null, features: null },
    feeds: [],
    feedOwnerSet: null,
    scanners: [],
    tasks: [],
    tasksTruncated: false,
    totals: { tasks: null, targets: null, credentials: null, reports: null },
  };
}

const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

/**
 * The compose project whose core containers are the watch list. Discovery's (gvmd found); else,
 * unless gvmd is a systemd unit, the project holding most core services, so a compose install
 * whose gvmd container is gone still reports gvmd `missing`.
 */
export function watchedProject(install: GreenboneInstall | null, containers: readonly ListedContainer[]): string | null {
  if (install?.method === 'compose') return install.composeProject;
  if (install?.method === 'systemd') return null;
  const counts = new Map<string, Set<string>>();
  for (const c of containers) {
    const project = c.labels[COMPOSE_PROJECT_LABEL];
    const service = c.labels[COMPOSE_SERVICE_LABEL];
    if (!project || !service || !(SCANNER_CORE_SERVICES as readonly string[]).includes(service)) continue;
    counts.set(project, (counts.get(project) ?? new Set()).add(service));
  }
  let best: string | null = null;
  for (const [project, services] of counts) if (best === null || services.size > counts.get(best)!.size) best = project;
  return best;
}

/** The project's container for each core service (a running one preferred; discovery's gvmd first). */
export function coreContainersOf(
  containers: readonly ListedContainer[],
  project: string,
  gvmdContainerId: string | null,
): Map<ScannerCoreService, ListedContainer> {
  const out = new Map<ScannerCoreService, ListedContainer>();
  for (const c of containers) {
    const service = c.labels[COMPOSE_SERVICE_LABEL] as ScannerCoreService | undefined;
    if (!service || !(SCANNER_CORE_SERVICES as readonly string[]).includes(service) || c.labels[COMPOSE_PROJECT_LABEL] !== project)
      continue;
    const held = out.get(service);
    if (held) {
      if (service === 'gvmd' && gvmdContainerId !== null) {
        if (c.id !== gvmdContainerId) continue;
      } else if (held.state === 'running' || c.state !== 'running') continue;
    }
    out.set(service, c);
  }
  return out;
}

/**
 * Greenbone on a scanner (issue 19): one GMP session per poll with the monitor account (without
 * one, get_version only), plus the compose project's core containers, their OOM kills, the feed
 * data images and Docker's data filesystem, as one `scannerStats` report. Never a scanned host,
 * port, NVT name or result: the GMP readers keep to allow-lists and ScannerStatsSchema's strict
 * objects refuse any other field.
 *
 * The report rides on heartbeats (telemetry.ts): `due()` offers it when it changed, after
 * `refreshNow()`, or when the last acknowledged one is 10 minutes old; it stays due until a
 * heartbeat carrying it is acknowledged, so a lost heartbeat loses nothing.
 */
export class ScannerIntegrator {
  private readonly now: () => Date;
  private readonly cache = new ScannerStatsCache();
  private latestStats: ScannerStats | null = null;
  private latestKey: string | null = null;
  private ackedKey: string | null = null;
  private ackedAt: Date | null = null;
  private forced = false;
  private chain: Promise<unknown> = Promise.resolve();
  private wake: (() => void) | null = null;
  private eventsSince: Date | null = null;
  private oom: Map<ScannerCoreService, Date> | null = null;

  constructor(private readonly options: ScannerIntegratorOptions) {
    this.now = options.now ?? (() => new Date());
  }

  /** The last report collected (null before the first poll ends). */
  latest(): ScannerStats | null {
    return this.latestStats;
  }

  /** One poll; polls never overlap (a second call waits for the first, then polls again). Never rejects. */
  poll(): Promise<ScannerStats> {
    const next = this.chain.then(() => this.pollOnce());
    this.chain = next.catch(() => undefined);
    return next;
  }

  /**
   * Polls at once (the `scanner.refresh` command) and makes the report due in the next heartbeat
   * even when nothing changed. Resolves with the new report.
   */
  async refreshNow(): Promise<ScannerStats> {
    const stats = await this.poll();
    this.forced = true;
    this.wake?.(); // the loop's next poll counts from now (run() does not poll again at once)
    return stats;
  }

  /** Polls at once, then every poll interval, until `signal` aborts. */
  async run(signal: AbortSignal): Promise<void> {
    const interval = this.options.pollIntervalMs ?? SCANNER_POLL_INTERVAL_MS;
    setCurrent(this);
    try {
      let pollNext = true;
      while (!signal.aborted) {
        if (pollNext) {
          await this.poll().catch((err: unknown) => this.options.log.error('scanner: poll failed', { error: errorMessage(err) }));
        }
        const woken = new AbortController();
        this.wake = () => woken.abort();
        await sleep(interval, undefined, { signal: AbortSignal.any([signal, woken.signal]) }).catch(() => undefined);
        this.wake = null;
        // woken by refreshNow(), which just polled: wait a whole interval again from now
        pollNext = !woken.signal.aborted;
      }
    } finally {
      if (current === this) setCurrent(null);
    }
  }

  /** The report when the next heartbeat should carry it, else null. */
  due(): DueScannerStats | null {
    if (!this.latestStats || this.latestKey === null) return null;
    const resend = this.options.resendIntervalMs ?? SCANNER_RESEND_INTERVAL_MS;
    const stale = this.ackedAt === null || this.now().getTime() - this.ackedAt.getTime() >= resend;
    if (!this.forced && this.latestKey === this.ackedKey && !stale) return null;
    return { scannerStats: this.latestStats, key: this.latestKey };
  }

  /** A heartbeat carrying the report with this key was acknowledged by the API. */
  acknowledged(key: string): void {
    this.ackedKey = key;
    this.ackedAt = this.now();
    if (key === this.latestKey) this.forced = false;
  }

  private async pollOnce(): Promise<ScannerStats> {
    const { log } = this.options;
    const started = this.now();
    let install: GreenboneInstall | null = null;
    try {
      install = await discoverGreenbone({
        dockerSocket: this.options.dockerSocket,
        configuredSocket: this.options.configuredSocket,
        systemctl: this.options.systemctl,
      });
    } catch (err) {
      log.warn('scanner: discovery failed', { error: errorMessage(err) });
    }

    let stats: ScannerStats;
    if (!install) {
      stats = noSession(started.toISOString(), 'no Greenbone install found (compose labels, gvmd.service, gmpSocketPath)');
    } else {
      const account = await readMonitorAccount(this.options.stateDir);
      const common = { socketPath: install.socketPath, now: this.now, ...this.options.gmp };
      stats = account
        ? await collectScannerStats({ ...common, username: account.username, password: account.password, cache: this.cache })
        : await collectGmpVersion(common);
      stats.account = account ? 'monitor' : 'none';
      stats.defaultAdminPassword = account?.defaultAdminPassword ?? null;
      stats.discovery = { method: install.method, composeProject: install.composeProject, gvmd: install.gvmd };
    }
    if (!install) stats.discovery = null;
    stats.hostMemoryBytes = (this.options.hostMemoryBytes ?? (() => os.totalmem()))();

    if (await exists(this.options.dockerSocket)) {
      try {
        await this.dockerParts(stats, install, started);
      } catch (err) {
        log.warn('scanner: Docker parts left out of the report', { error: errorMessage(err) });
      }
    }

    const checked = ScannerStatsSchema.safeParse(stats);
    let report: ScannerStats;
    if (checked.success) {
      report = checked.data;
    } else {
      // A bug here (every part is clipped to the contract): send the GMP part alone rather than nothing.
      log.warn('scanner: report outside the contract; Docker parts left out', { at: checked.error.issues[0]?.path.join('.') ?? '' });
      const gmpOnly: ScannerStats = { ...stats };
      delete gmpOnly.coreContainers;
      delete gmpOnly.dockerData;
      delete gmpOnly.feedDataImages;
      report = ScannerStatsSchema.parse(gmpOnly);
    }
    this.latestStats = report;
    this.latestKey = scannerStatsKey(report);
    return report;
  }

  /** Core containers, OOM kills, feed data images, Docker's data filesystem (each part on its own). */
  private async dockerParts(stats: ScannerStats, install: GreenboneInstall | null, now: Date): Promise<void> {
    const socket = this.options.dockerSocket;
    const { log } = this.options;
    const containers = parseListedContainers(await dockerGet(socket, '/containers/json?all=1'));
    const project = watchedProject(install, containers);

    if (project !== null) {
      const oom = await this.oomKills(project, now).catch((err: unknown) => {
        log.warn('scanner: cannot read OOM events', { error: errorMessage(err) });
        return this.oom ?? new Map<ScannerCoreService, Date>();
      });
      const found = coreContainersOf(containers, project, install?.gvmdContainerId ?? null);
      const entries: CoreContainer[] = [];
      for (const service of SCANNER_CORE_SERVICES) {
        const container = found.get(service);
        if (!container) {
          if (REQUIRED_SERVICES.has(service)) entries.push(coreContainerEntry(service, null, null, oom.get(service) ?? null));
          continue;
        }
        const id = encodeURIComponent(container.id);
        const inspect = await dockerGet(socket, `/containers/${id}/json`).catch(() => null);
        // removed between the list and the inspect: what the list said
        const inspected = inspect
          ? parseCoreInspect(inspect, container.name)
          : {
              name: container.name,
              image: cleanText(container.image, 512),
              state: container.state,
              restartCount: 0,
              startedAt: null,
              oomKilledAt: null,
            };
        const memory =
          inspected.state === 'running'
            ? await dockerGet(socket, `/containers/${id}/stats?stream=false&one-shot=true`, STATS_TIMEOUT_MS).then(
                statsMemoryBytes,
                (err: unknown) => {
                  log.warn('scanner: no memory reading of a core container', { service, error: errorMessage(err) });
                  return null;
                },
              )
            : null;
        const missed = unexplainedOomKill(inspected, oom.get(service) ?? null);
        if (missed) await this.rememberOom(service, missed);
        entries.push(coreContainerEntry(service, inspected, memory, (this.oom ?? oom).get(service) ?? null));
      }
      stats.coreContainers = entries;
      stats.feedDataImages = await this.feedDataImages(containers, project);
    }
    stats.dockerData = await this.dockerData().catch((err: unknown) => {
      log.warn('scanner: cannot read the Docker data filesystem', { error: errorMessage(err) });
      return null;
    });
  }

  /** OOM kills of the project's core services since the last poll, merged into the remembered ones. */
  private async oomKills(project: string, now: Date): Promise<Map<ScannerCoreService, Date>> {
    this.oom ??= await this.loadOom();
    const since = this.eventsSince ?? new Date(now.getTime() - OOM_LOOKBACK_MS);
    const events = parseOomEvents(await dockerGetText(this.options.dockerSocket, oomEventsPath(since, now), undefined, MAX_EVENTS_BYTES));
    let changed = false;
    for (const event of events) {
      if (event.project !== project || !event.service || !(SCANNER_CORE_SERVICES as readonly string[]).includes(event.service)) continue;
      const service = event.service as ScannerCoreService;
      const known = this.oom.get(service);
      if (!known || event.at > known) {
        this.oom.set(service, event.at);
        changed = true;
      }
    }
    // The window's end is inclusive and whole seconds: the next one starts at it (a repeat changes nothing).
    this.eventsSince = new Date(Math.floor(now.getTime() / 1000) * 1000);
    if (changed) await this.saveOom(this.oom);
    return this.oom;
  }

  /** An OOM kill found otherwise than by events (unexplainedOomKill). */
  private async rememberOom(service: ScannerCoreService, at: Date): Promise<void> {
    this.oom ??= await this.loadOom();
    const known = this.oom.get(service);
    if (known && known >= at) return;
    this.oom.set(service, at);
    await this.saveOom(this.oom);
  }

  private get oomPath() {
    return join(this.options.stateDir, OOM_STATE_FILE);
  }

  private async loadOom(): Promise<Map<ScannerCoreService, Date>> {
    const out = new Map<ScannerCoreService, Date>();
    try {
      const raw = JSON.parse(await readFile(this.oomPath, 'utf8')) as unknown;
      if (typeof raw === 'object' && raw !== null) {
        for (const [service, at] of Object.entries(raw)) {
          const time = typeof at === 'string' ? new Date(at) : null;
          if ((SCANNER_CORE_SERVICES as readonly string[]).includes(service) && time && !Number.isNaN(time.getTime()))
            out.set(service as ScannerCoreService, time);
        }
      }
    } catch {
      // none yet, or unreadable: start empty
    }
    return out;
  }

  private async saveOom(oom: Map<ScannerCoreService, Date>): Promise<void> {
    const body = Object.fromEntries([...oom].map(([service, at]) => [service, at.toISOString()]));
    await writeFileAtomic(this.oomPath, `${JSON.stringify(body)}\n`, 0o600).catch((err: unknown) =>
      this.options.log.warn('scanner: cannot remember OOM kills', { error: errorMessage(err) }),
    );
  }

  /** The feed data services' images (ref as the compose file names it, Created of the image the container runs). */
  private async feedDataImages(containers: readonly ListedContainer[], project: string): Promise<FeedDataImage[]> {
    const out: FeedDataImage[] = [];
    const seen = new Set<string>();
    for (const c of containers) {
      const service = c.labels[COMPOSE_SERVICE_LABEL];
      if (c.labels[COMPOSE_PROJECT_LABEL] !== project || !(FEED_DATA_SERVICES as readonly string[]).includes(service ?? '')) continue;
      if (seen.has(c.image) || out.length >= MAX_FEED_DATA_IMAGES) continue;
      seen.add(c.image);
      const body = await dockerGet(this.options.dockerSocket, `/images/${encodeURIComponent(c.imageId ?? c.image)}/json`).catch(() => null);
      const entry = feedDataImage(c.image, body ?? {});
      if (entry) out.push(entry);
    }
    return out;
  }

  /** statfs of Docker's data root (GET /info DockerRootDir); null when the agent cannot see that path. */
  private async dockerData(): Promise<DockerDataUsage | null> {
    const info = (await dockerGet(this.options.dockerSocket, '/info')) as Record<string, unknown>;
    const root = typeof info.DockerRootDir === 'string' ? cleanText(info.DockerRootDir, 512) : null;
    if (!root) return null;
    const fs = await statfs(root).catch(() => null);
    return fs ? { path: root, ...filesystemUsage(fs) } : null;
  }
}

let current: ScannerIntegrator | null = null;
const setCurrent = (integrator: ScannerIntegrator | null) => {
  current = integrator;
};

/**
 * The integrator the run loop started (null when the device is no scanner or the agent does not
 * run): the `scanner.refresh` command calls `currentScannerIntegrator()?.refreshNow()`.
 */
export function currentScannerIntegrator(): ScannerIntegrator | null {
  return current;
}
