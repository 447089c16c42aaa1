/**
 * What the scanner integrator reads from Docker's Engine API about the Greenbone compose project:
 * the core containers' state, OOM kills (events), the feed data images and Docker's data root.
 * The bodies are parsed here (pure), fetched in integrator.ts.
 */
import { MAX_MEMORY_BYTES, MAX_RESTART_COUNT, type CoreContainer, type FeedDataImage, type ScannerCoreService } from '@xspectre/contracts';
import { cleanText } from '../facts-parsers.js';
import { COMPOSE_PROJECT_LABEL, COMPOSE_SERVICE_LABEL } from './discovery.js';

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : {});
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/** The most of /events one poll reads (one JSON object per line: dockerGetText, collectors/docker.ts). */
export const MAX_EVENTS_BYTES = 4 * 1024 * 1024;

/** The /events query for container OOM kills between two times (whole seconds; `until` makes the engine close the stream). */
export function oomEventsPath(since: Date, until: Date): string {
  const filters = JSON.stringify({ event: ['oom'], type: ['container'] });
  const s = Math.floor(since.getTime() / 1000);
  const u = Math.max(s, Math.ceil(until.getTime() / 1000));
  return `/events?since=${s}&until=${u}&filters=${encodeURIComponent(filters)}`;
}

export interface OomEvent {
  at: Date;
  containerId: string;
  /** Compose labels of the container (the engine copies labels into the event's attributes). */
  project: string | null;
  service: string | null;
}

/** /events body (one JSON object per line) → OOM kills; other events and malformed lines are skipped. */
export function parseOomEvents(body: string): OomEvent[] {
  const out: OomEvent[] = [];
  for (const line of body.split('\n')) {
    if (line.trim() === '') continue;
    let event: Obj;
    try {
      event = obj(JSON.parse(line));
    } catch {
      continue;
    }
    const action = str(event.Action) ?? str(event.status);
    const type = str(event.Type) ?? 'container';
    if (action !== 'oom' || type !== 'container') continue;
    const nanos = num(event.timeNano);
    const seconds = num(event.time);
    const at = nanos !== null ? new Date(Math.floor(nanos / 1e6)) : seconds !== null ? new Date(seconds * 1000) : null;
    if (!at || Number.isNaN(at.getTime())) continue;
    const actor = obj(event.Actor);
    const attributes = obj(actor.Attributes);
    out.push({
      at,
      containerId: str(actor.ID) ?? str(event.id) ?? '',
      project: str(attributes[COMPOSE_PROJECT_LABEL]),
      service: str(attributes[COMPOSE_SERVICE_LABEL]),
    });
  }
  return out;
}

/** What GET /containers/{id}/json tells of a core container. */
export interface InspectedContainer {
  name: string;
  image: string | null;
  state: string;
  restartCount: number;
  startedAt: string | null;
  /** When Docker says the last exit was an OOM kill (State.OOMKilled; reset when it starts again): State.FinishedAt. */
  oomKilledAt: Date | null;
}

/** Docker's "never" time (a container that never started). */
const ZERO_TIME = /^0001-01-01/;

const isoTime = (value: unknown): string | null => {
  const text = str(value);
  if (!text || ZERO_TIME.test(text)) return null;
  const at = new Date(text);
  return Number.isNaN(at.getTime()) ? null : at.toISOString();
};

/** GET /containers/{id}/json → name, image reference (as the compose file names it), state, restarts, start time. */
export function parseCoreInspect(body: unknown, fallbackName: string): InspectedContainer {
  const b = obj(body);
  const state = obj(b.State);
  const restarts = num(b.RestartCount);
  return {
    name: cleanText((str(b.Name) ?? fallbackName).replace(/^\//, ''), 256) ?? fallbackName.slice(0, 256),
    image: cleanText(str(obj(b.Config).Image) ?? '', 512),
    state: cleanText(str(state.Status) ?? 'unknown', 32) ?? 'unknown',
    restartCount: restarts !== null && restarts >= 0 ? Math.min(MAX_RESTART_COUNT, Math.floor(restarts)) : 0,
    startedAt: isoTime(state.StartedAt),
    oomKilledAt: state.OOMKilled === true ? ((at) => (at ? new Date(at) : null))(isoTime(state.FinishedAt)) : null,
  };
}

/**
 * An OOM kill Docker's inspect shows that no event explained: events can be missed (the agent
 * down longer than the look-back, an engine that lost its cgroup notifications), the container's
 * State.OOMKilled is not. An event within a minute before its FinishedAt is the same kill.
 */
export function unexplainedOomKill(inspected: InspectedContainer, known: Date | null): Date | null {
  const at = inspected.oomKilledAt;
  if (!at) return null;
  if (known && known.getTime() > at.getTime() - 60_000) return null;
  return at;
}

/** One core container entry of the report; `inspected` null: the service has no container (`missing`). */
export function coreContainerEntry(
  service: ScannerCoreService,
  inspected: InspectedContainer | null,
  memoryBytes: number | null,
  lastOomKillAt: Date | null,
): CoreContainer {
  return {
    service,
    container: inspected?.name ?? null,
    image: inspected?.image ?? null,
    state: inspected?.state ?? 'missing',
    restartCount: inspected?.restartCount ?? 0,
    startedAt: inspected?.startedAt ?? null,
    lastOomKillAt: lastOomKillAt?.toISOString() ?? null,
    memoryBytes: memoryBytes === null ? null : Math.min(MAX_MEMORY_BYTES, Math.max(0, Math.round(memoryBytes))),
  };
}

/**
 * The vendor's feed data services (docs.greenbone.net's compose file): containers that copy the
 * feed into volumes and exit. Their images' age is the age of the feed the scanner can have.
 */
export const FEED_DATA_SERVICES = [
  'vulnerability-tests',
  'notus-data',
  'scap-data',
  'cert-bund-data',
  'dfn-cert-data',
  'data-objects',
  'report-formats',
  'gpg-data',
] as const;

/** GET /images/{ref}/json → the feed data image entry (its Created time). */
export function feedDataImage(image: string, body: unknown): FeedDataImage | null {
  const ref = cleanText(image, 200);
  if (!ref) return null;
  return { image: ref, createdAt: isoTime(obj(body).Created) };
}

/** `statfs` of Docker's data root → used and total bytes of its filesystem. */
export function filesystemUsage(stats: { blocks: number | bigint; bfree: number | bigint; bsize: number | bigint }): {
  usedBytes: number;
  totalBytes: number;
} {
  const bsize = Number(stats.bsize);
  const total = Number(stats.blocks) * bsize;
  const free = Number(stats.bfree) * bsize;
  const clamp = (n: number) => Math.max(0, Math.min(Number.MAX_SAFE_INTEGER, Math.round(n)));
  return { usedBytes: clamp(total - free), totalBytes: clamp(total) };
}
