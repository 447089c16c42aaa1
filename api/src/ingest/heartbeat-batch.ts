import type { Heartbeat } from '@xspectre/contracts';
import { sampleTime, toMetricSample } from '../telemetry/metric-sample.js';
import { splitContainerStats } from '../telemetry/container-stats.js';
import { documentHash, type DocumentKind, type TelemetryDocumentCache } from './telemetry-document-cache.js';

/** One request's heartbeats, waiting in the group commit. */
export interface HeartbeatSubmission {
  deviceId: string;
  heartbeats: Heartbeat[];
}

export interface HeartbeatRow {
  d: string;
  s: number;
  sent: string;
  up: number;
  ver: string;
}
export interface SampleRow {
  d: string;
  s: number;
  t: string;
  cpu: number;
  load1: number;
  mem_used: number;
  mem_total: number;
  swap_used: number;
  disk_max: number | null;
  rx: number;
  tx: number;
}
/**
 * The latest state of a device, documents as JSON text. A document is null when the heartbeat
 * did not carry it, or when it is the one this instance wrote before: then its claim is the
 * sequence it was written with (the write keeps the stored document if that still holds).
 */
export interface LatestRow {
  d: string;
  s: number;
  t: string;
  metrics: string | null;
  services: string | null;
  servicesClaim: number | null;
  /** Without the containers' CPU and memory: those are `containerStats`. */
  docker: string | null;
  dockerClaim: number | null;
  containerStats: string | null;
  /** Hashes of the documents sent in full, remembered once the write committed. */
  written: Partial<Record<DocumentKind, string>>;
}
export interface DeviceRow {
  d: string;
  s: number;
  ver: string;
}

/** The rows one group commit writes, each array already deduplicated on (device, sequence). */
export interface BatchRows {
  heartbeats: HeartbeatRow[];
  samples: SampleRow[];
  /** The newest heartbeat with telemetry, per device. */
  latest: LatestRow[];
  /** Per device: the highest sequence and its agent version. */
  devices: DeviceRow[];
  /** UTC days (YYYY-MM-DD) the samples fall on: their partitions must exist. */
  sampleDays: string[];
}

/**
 * Turns submissions into rows. Samples older than `retentionCutoff` are left out (their
 * partition is gone or about to be); the heartbeat itself is still recorded.
 */
export function buildBatchRows(
  submissions: HeartbeatSubmission[],
  receivedAt: Date,
  retentionCutoff: Date,
  documents?: TelemetryDocumentCache,
): BatchRows {
  const seen = new Set<string>();
  const heartbeats: HeartbeatRow[] = [];
  const samples: SampleRow[] = [];
  const latest = new Map<string, { heartbeat: Heartbeat; t: string }>();
  const devices = new Map<string, DeviceRow>();
  const days = new Set<string>();

  for (const { deviceId, heartbeats: batch } of submissions) {
    for (const h of batch) {
      const key = `${deviceId}:${h.sequence}`;
      if (seen.has(key)) continue;
      seen.add(key);
      heartbeats.push({ d: deviceId, s: h.sequence, sent: h.sentAt, up: h.uptimeSeconds, ver: h.agentVersion });

      const device = devices.get(deviceId);
      if (!device || h.sequence > device.s) devices.set(deviceId, { d: deviceId, s: h.sequence, ver: h.agentVersion });

      if (h.metrics) {
        const sample = toMetricSample({ ...h, metrics: h.metrics }, receivedAt);
        if (sample.sampledAt >= retentionCutoff) {
          const t = sample.sampledAt.toISOString();
          days.add(t.slice(0, 10));
          samples.push({
            d: deviceId,
            s: h.sequence,
            t,
            cpu: sample.cpuPercent,
            load1: sample.load1,
            mem_used: sample.memUsedBytes,
            mem_total: sample.memTotalBytes,
            swap_used: sample.swapUsedBytes,
            disk_max: sample.diskUsedPercentMax,
            rx: sample.netRxBps,
            tx: sample.netTxBps,
          });
        }
      }
      if (h.metrics || h.services || h.docker) {
        const current = latest.get(deviceId);
        if (!current || h.sequence > current.heartbeat.sequence)
          latest.set(deviceId, { heartbeat: h, t: sampleTime(h.sentAt, receivedAt).toISOString() });
      }
    }
  }
  return {
    heartbeats,
    samples,
    latest: [...latest.entries()].map(([deviceId, { heartbeat, t }]) => latestRow(deviceId, heartbeat, t, documents)),
    devices: [...devices.values()],
    sampleDays: [...days].sort(),
  };
}

function latestRow(deviceId: string, h: Heartbeat, t: string, documents: TelemetryDocumentCache | undefined): LatestRow {
  const row: LatestRow = {
    d: deviceId,
    s: h.sequence,
    t,
    metrics: h.metrics ? JSON.stringify(h.metrics) : null,
    services: null,
    servicesClaim: null,
    docker: null,
    dockerClaim: null,
    containerStats: null,
    written: {},
  };
  const document = (kind: DocumentKind, value: unknown): void => {
    const json = JSON.stringify(value);
    const hash = documentHash(json);
    const previous = documents?.get(deviceId, kind);
    if (previous && previous.hash === hash && previous.sequence < h.sequence) {
      row[kind === 'services' ? 'servicesClaim' : 'dockerClaim'] = previous.sequence;
    } else {
      row[kind] = json;
      row.written[kind] = hash;
    }
  };
  if (h.services) document('services', h.services);
  if (h.docker) {
    const { stable, stats } = splitContainerStats(h.docker);
    document('docker', stable);
    row.containerStats = stats ? JSON.stringify(stats) : null;
  }
  return row;
}

/** The latest rows as the JSON array the write statement reads (documents are already JSON text). */
export function latestRowsJson(rows: LatestRow[]): string {
  const parts = rows.map(
    (l) =>
      `{"d":${JSON.stringify(l.d)},"s":${l.s},"t":"${l.t}","metrics":${l.metrics ?? 'null'},"services":${l.services ?? 'null'},` +
      `"services_seq":${l.servicesClaim ?? 'null'},"docker":${l.docker ?? 'null'},"docker_seq":${l.dockerClaim ?? 'null'},` +
      `"stats":${l.containerStats ?? 'null'}}`,
  );
  return `[${parts.join(',')}]`;
}

/** What a submission learns from the commit: which of its sequences were new. */
export interface SubmissionOutcome {
  accepted: number;
  duplicates: number;
  lastSequence: number;
}

/**
 * Splits the inserted (device, sequence) pairs between submissions. A sequence sent twice in
 * one commit (an agent retrying while its first request still waits) counts once, for the
 * first submission.
 */
export function outcomesOf(
  submissions: HeartbeatSubmission[],
  inserted: ReadonlySet<string>,
  lastSequences: ReadonlyMap<string, number>,
): SubmissionOutcome[] {
  const credited = new Set<string>();
  return submissions.map(({ deviceId, heartbeats }) => {
    let accepted = 0;
    for (const h of heartbeats) {
      const key = `${deviceId}:${h.sequence}`;
      if (inserted.has(key) && !credited.has(key)) {
        credited.add(key);
        accepted += 1;
      }
    }
    const newest = Math.max(...heartbeats.map((h) => h.sequence));
    return { accepted, duplicates: heartbeats.length - accepted, lastSequence: lastSequences.get(deviceId) ?? newest };
  });
}
