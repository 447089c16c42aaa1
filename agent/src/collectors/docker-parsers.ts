/** Pure computations on Docker Engine API bodies (containers/json, containers/{id}/json, stats). */
import { MAX_CONTAINER_CPU_PERCENT, MAX_MEMORY_BYTES, MAX_RESTART_COUNT, type ContainerState } from '@xspectre/contracts';
import { cleanText } from '../facts-parsers.js';

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : {});
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

export interface CpuCounters {
  container: number;
  system: number;
  onlineCpus: number;
}

/** One CPU reading of a stats body (`cpu_stats` or `precpu_stats`), or null when it is empty. */
export function cpuCounters(section: unknown): CpuCounters | null {
  const s = obj(section);
  const usage = obj(s.cpu_usage);
  const container = num(usage.total_usage);
  const system = num(s.system_cpu_usage);
  if (container === null || system === null || system === 0) return null;
  const percpu = Array.isArray(usage.percpu_usage) ? usage.percpu_usage.length : 0;
  return { container, system, onlineCpus: num(s.online_cpus) ?? (percpu || 1) };
}

/**
 * CPU % like `docker stats`: container time over host time between two readings × CPUs
 * (so 200 % is two busy cores). null when there is no earlier reading or no time passed.
 */
export function statsCpuPercent(prev: CpuCounters | null, cur: CpuCounters | null): number | null {
  if (!prev || !cur) return null;
  const container = cur.container - prev.container;
  const system = cur.system - prev.system;
  if (system <= 0 || container < 0) return null;
  // Within the contract's bound whatever the daemon reported (a container cannot use more than every core).
  const percent = Math.round((container / system) * cur.onlineCpus * 100 * 100) / 100;
  return Math.max(0, Math.min(percent, cur.onlineCpus * 100, MAX_CONTAINER_CPU_PERCENT));
}

/** Memory like `docker stats`: usage minus the page cache (cgroup v2 inactive_file, v1 total_inactive_file). */
export function statsMemoryBytes(body: unknown): number | null {
  const m = obj(obj(body).memory_stats);
  const usage = num(m.usage);
  if (usage === null) return null;
  const stats = obj(m.stats);
  const cache = num(stats.inactive_file) ?? num(stats.total_inactive_file) ?? 0;
  return Math.min(MAX_MEMORY_BYTES, Math.max(0, Math.round(cache < usage ? usage - cache : usage)));
}

export interface ContainerSummary {
  id: string;
  name: string;
  image: string;
  state: string;
}

/** One entry of GET /containers/json?all=1 with its labels and mounts (what scanner discovery reads). */
export interface ListedContainer {
  id: string;
  name: string;
  image: string;
  /** The image the container runs (`sha256:…`), whatever its tag points at now. */
  imageId: string | null;
  state: string;
  labels: Record<string, string>;
  mounts: { source: string; destination: string }[];
}

/** GET /containers/json?all=1 → containers with labels and mounts (malformed entries skipped). */
export function parseListedContainers(body: unknown): ListedContainer[] {
  if (!Array.isArray(body)) throw new Error('docker: /containers/json did not answer an array');
  return body.flatMap((entry: unknown) => {
    const c = obj(entry);
    const id = str(c.Id);
    if (id === null) return [];
    const names = Array.isArray(c.Names) ? c.Names.map(str).filter((n): n is string => n !== null) : [];
    const labels: Record<string, string> = {};
    for (const [key, value] of Object.entries(obj(c.Labels))) if (typeof value === 'string') labels[key] = value;
    const mounts = (Array.isArray(c.Mounts) ? c.Mounts : []).flatMap((m: unknown) => {
      const source = str(obj(m).Source);
      const destination = str(obj(m).Destination);
      return source && destination ? [{ source, destination }] : [];
    });
    return [
      {
        id,
        name: (names[0] ?? id.slice(0, 12)).replace(/^\//, ''),
        image: str(c.Image) ?? '',
        imageId: str(c.ImageID),
        state: str(c.State) ?? 'unknown',
        labels,
        mounts,
      },
    ];
  });
}

/** GET /containers/json → summaries (malformed entries skipped). */
export function parseContainerList(body: unknown): ContainerSummary[] {
  return parseListedContainers(body).map(({ id, name, image, state }) => ({ id, name, image, state }));
}

/** GET /containers/{id}/json → restart count and health status (null without a health check). */
export function parseInspect(body: unknown): { restartCount: number; health: string | null } {
  const b = obj(body);
  const restarts = num(b.RestartCount);
  return {
    restartCount: restarts !== null && restarts >= 0 ? Math.min(MAX_RESTART_COUNT, Math.floor(restarts)) : 0,
    health: str(obj(obj(b.State).Health).Status),
  };
}

const text = (value: string, max: number, fallback: string) => cleanText(value, max) ?? fallback;

export function containerState(
  summary: ContainerSummary,
  inspect: { restartCount: number; health: string | null } | null,
  cpuPercent: number | null,
  memoryBytes: number | null,
): ContainerState {
  return {
    id: text(summary.id, 128, '?'),
    name: text(summary.name, 256, '?'),
    image: text(summary.image, 512, '?'),
    state: text(summary.state, 32, 'unknown'),
    health: inspect?.health ? text(inspect.health, 32, 'unknown') : null,
    restartCount: inspect?.restartCount ?? 0,
    cpuPercent,
    memoryBytes,
  };
}
