import { PER_MOUNT_METRICS, type Heartbeat, type MetricRuleParams } from '@xspectre/contracts';
import type { EngineRule } from './rule-book.js';

/** One condition a heartbeat shows for one rule: breaching, clear, or in the hysteresis band (hold). */
export interface ConditionReading {
  ruleId: string;
  subject: string;
  /** 'hold': between the clear level and the threshold: stays as it was. */
  state: 'breach' | 'clear' | 'hold';
  /** What a new condition stores; only a breach starts one, so other readings share NO_DETAILS. */
  details: Readonly<Record<string, unknown>>;
}

const NO_DETAILS: Readonly<Record<string, unknown>> = Object.freeze({});

/** Remembered restart counts per container, for "restarting repeatedly" (per device, per instance). */
export type RestartHistory = Map<string, Array<{ at: number; count: number }>>;

const HEARTBEAT_KINDS = new Set(['metric', 'unit', 'container']);
export const isHeartbeatRule = (rule: EngineRule) => HEARTBEAT_KINDS.has(rule.kind);

const round = (n: number) => Math.round(n * 100) / 100;
const percent = (used: number, total: number) => (total > 0 ? (used / total) * 100 : 0);

/** `*`, an exact name, or a prefix ending in `*`. */
export function matchesFilter(filters: readonly string[], name: string): boolean {
  return filters.some((f) => f === '*' || f === name || (f.endsWith('*') && name.startsWith(f.slice(0, -1))));
}

function metricValues(params: MetricRuleParams, h: Heartbeat): Array<{ subject: string; value: number }> {
  const m = h.metrics;
  if (!m) return [];
  switch (params.metric) {
    case 'cpu':
      return [{ subject: '', value: m.cpuPercent }];
    case 'memory':
      return [{ subject: '', value: percent(m.memory.usedBytes, m.memory.totalBytes) }];
    case 'swap':
      // No swap configured is not "0 % used of nothing": nothing to judge.
      return m.memory.swapTotalBytes > 0 ? [{ subject: '', value: percent(m.memory.swapUsedBytes, m.memory.swapTotalBytes) }] : [];
    case 'load1':
      return [{ subject: '', value: m.load[0] }];
    case 'load5':
      return [{ subject: '', value: m.load[1] }];
    case 'load15':
      return [{ subject: '', value: m.load[2] }];
    case 'disk':
    case 'inodes': {
      const mounts = params.mounts;
      return m.mounts
        .filter((mount) => !mounts || matchesFilter(mounts, mount.mountpoint))
        .filter((mount) => (params.metric === 'disk' ? mount.totalBytes : mount.inodesTotal) > 0)
        .map((mount) => ({
          subject: mount.mountpoint,
          value: params.metric === 'disk' ? percent(mount.usedBytes, mount.totalBytes) : percent(mount.inodesUsed, mount.inodesTotal),
        }));
    }
  }
}

export function clearLevel(params: { threshold: number; clearBelow?: number }): number {
  return params.clearBelow ?? params.threshold * 0.95;
}

/**
 * What one heartbeat (the device's newest state) says about each heartbeat-judged rule. A subject
 * the heartbeat does not mention (a mount gone, a unit no longer reported) reads as clear, but only
 * when the heartbeat carries that part of the telemetry at all.
 *
 * `breachesOnly`: only breaching readings are built. For a device that breaches nothing only a
 * breach can change anything, and the ~90 clear readings of a typical heartbeat were most of the
 * garbage a heap sample found still held in the agents' instance seconds after it was made, so
 * in the old generation, where only full collections free it (api/README.md, "Fleet reads
 * benchmark"); V8 pretenuring these allocation sites after a backlog is the likely cause.
 */
export function readConditions(
  rules: EngineRule[],
  h: Heartbeat,
  history: RestartHistory,
  now: number,
  breachesOnly = false,
): ConditionReading[] {
  const out: ConditionReading[] = [];
  for (const rule of rules) {
    if (rule.kind === 'metric') {
      const params = (rule as EngineRule<'metric'>).params;
      const clear = clearLevel(params);
      for (const { subject, value } of metricValues(params, h)) {
        const state = value >= params.threshold ? 'breach' : value < clear ? 'clear' : 'hold';
        if (breachesOnly && state !== 'breach') continue;
        const details = state === 'breach' ? { metric: params.metric, value: round(value), threshold: params.threshold } : NO_DETAILS;
        out.push({ ruleId: rule.id, subject, state, details });
      }
      if (!h.metrics && !PER_MOUNT_METRICS.includes(params.metric)) continue;
    } else if (rule.kind === 'unit') {
      if (!h.services) continue;
      const params = (rule as EngineRule<'unit'>).params;
      for (const s of h.services) {
        if (!matchesFilter(params.units, s.unit)) continue;
        const breach = params.condition === 'failed' ? s.activeState === 'failed' : s.watched && s.activeState !== 'active';
        // A unit that is not watched and not failed is only reported because it failed before: clear.
        if (params.condition === 'not_active' && !s.watched) continue;
        if (breachesOnly && !breach) continue;
        out.push({
          ruleId: rule.id,
          subject: s.unit,
          state: breach ? 'breach' : 'clear',
          details: breach ? { unit: s.unit, activeState: s.activeState, subState: s.subState } : NO_DETAILS,
        });
      }
    } else if (rule.kind === 'container') {
      if (h.docker?.status !== 'ok') continue;
      const params = (rule as EngineRule<'container'>).params;
      for (const c of h.docker.containers) {
        if (!matchesFilter(params.containers, c.name)) continue;
        let breach: boolean;
        let grew: number | undefined;
        if (params.condition === 'not_running') breach = c.state !== 'running';
        else if (params.condition === 'unhealthy') breach = c.health === 'unhealthy';
        else {
          // Recorded whatever is built: the restart history is kept from every heartbeat.
          grew = restartsWithin(history, c.name, c.restartCount, now, params.windowSeconds * 1000);
          breach = c.state === 'restarting' || grew >= params.restarts;
        }
        if (breachesOnly && !breach) continue;
        const restarts = grew === undefined ? {} : { restartsInWindow: grew, restartCount: c.restartCount };
        out.push({
          ruleId: rule.id,
          subject: c.name,
          state: breach ? 'breach' : 'clear',
          details: breach ? { container: c.name, image: c.image, state: c.state, health: c.health, ...restarts } : NO_DETAILS,
        });
      }
    }
  }
  return out;
}

/** Records this reading of a container's restart count and returns how much it grew within the window. */
function restartsWithin(history: RestartHistory, name: string, count: number, now: number, windowMs: number): number {
  // Kept in place (no new array or point per heartbeat): a device's history lives from one of its
  // heartbeats to the next, long enough for every copy to reach the old generation as garbage.
  let points = history.get(name);
  if (!points) history.set(name, (points = []));
  let kept = 0;
  for (const p of points) if (p.at >= now - windowMs && p.count <= count) points[kept++] = p;
  points.length = kept;
  // A run of equal counts keeps its first and its last reading only: the oldest reading within
  // the window then has the count it would have with every reading kept, and a steady container
  // costs two points instead of one per heartbeat (filtering up to 64 of them per container and
  // heartbeat was the engine's largest cost in the ingest benchmark's profile, api/bench/ingest.mjs).
  const n = points.length;
  if (n >= 2 && points[n - 1]!.count === count && points[n - 2]!.count === count) points[n - 1]!.at = now;
  else points.push({ at: now, count });
  if (points.length > 64) points.splice(0, points.length - 64);
  return count - points[0]!.count;
}
