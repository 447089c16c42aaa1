import { Inject, Injectable } from '@nestjs/common';
import type { Heartbeat } from '@xspectre/contracts';
import { APP_CONFIG, type AppConfig } from '../config/config.js';
import { Database } from '../db/database.js';
import { DeviceEventsService, type RecordedDeviceEvent } from '../device-events/device-events.service.js';
import { InventoryService } from '../inventory/inventory.service.js';
import { DiskHealthService, type ReportedDiskHealth } from '../inventory/disk-health.service.js';
import { offlineAfterMs } from '../devices/connectivity.js';
import { TelemetryMaintenanceService } from '../telemetry/telemetry-maintenance.service.js';
import { HeartbeatBatchRepository, type BatchWriteResult } from './heartbeat-batch.repository.js';
import { HeartbeatStorageService } from './heartbeat-storage.service.js';
import { TelemetryDocumentCache } from './telemetry-document-cache.js';
import { buildBatchRows, outcomesOf, type BatchRows, type HeartbeatSubmission, type SubmissionOutcome } from './heartbeat-batch.js';

/** A submission's result: its outcome, or null when its device is no longer active. */
export type StoredSubmission = SubmissionOutcome | null;

export interface StoredBatch {
  outcomes: StoredSubmission[];
  receivedAt: Date;
  /** Devices that were offline (or never seen) and spoke again. */
  cameOnline: string[];
  events: RecordedDeviceEvent[];
  /** The newest stored heartbeat per device, for live updates. */
  newest: Map<string, Heartbeat>;
  /** Devices whose latest state this write replaced (the alert engine judges only those). */
  becameLatest: Set<string>;
}

const DAY_MS = 86_400_000;

/** Writes a group of heartbeat submissions in one transaction. */
@Injectable()
export class HeartbeatStore {
  /** UTC days whose metric partition is known to exist (created ahead by the worker, or here). */
  private readonly knownDays = new Set<string>();
  /** UTC days whose device_heartbeats partition (by received_at) is known to exist. */
  private readonly knownHeartbeatDays = new Set<string>();
  /** The latest-state documents this instance wrote: unchanged ones are not sent again. */
  private readonly documents = new TelemetryDocumentCache();

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly db: Database,
    private readonly batches: HeartbeatBatchRepository,
    private readonly telemetry: TelemetryMaintenanceService,
    private readonly heartbeatStorage: HeartbeatStorageService,
    private readonly inventory: InventoryService,
    private readonly events: DeviceEventsService,
    private readonly diskHealth: DiskHealthService,
  ) {}

  /** Drops what this instance remembers of the devices' documents: the next write sends them in full. */
  forgetDocuments(submissions: HeartbeatSubmission[]): void {
    for (const { deviceId } of submissions) this.documents.forget(deviceId);
  }

  /**
   * Writes the batch once. An unchanged document is sent as a claim on the sequence this instance
   * wrote it with; when another instance wrote it since, the write fails with STALE_DOCUMENT_CLAIM
   * and stores nothing (heartbeat-retry.ts decides what follows).
   */
  async write(submissions: HeartbeatSubmission[]): Promise<StoredBatch> {
    const receivedAt = new Date();
    const retentionCutoff = new Date(Math.floor(receivedAt.getTime() / DAY_MS - this.config.API_METRICS_RETENTION_DAYS + 1) * DAY_MS);
    const rows = buildBatchRows(submissions, receivedAt, retentionCutoff, this.documents);
    const missingDays = rows.sampleDays.filter((day) => !this.knownDays.has(day));
    if (missingDays.length > 0) {
      await this.telemetry.ensureMetricDays(missingDays);
      for (const day of missingDays) this.knownDays.add(day);
    }
    // The rows go to the partition of the day they are received: normally created ahead by the
    // worker; checked once per day and instance in case the worker has not run.
    const receivedDay = receivedAt.toISOString().slice(0, 10);
    if (!this.knownHeartbeatDays.has(receivedDay)) {
      await this.heartbeatStorage.ensureDays([receivedDay]);
      this.knownHeartbeatDays.add(receivedDay);
    }

    // The common batch is one statement (atomic by itself); inventory reports, disk health and
    // journal gaps add statements, so such a batch runs in a transaction.
    const needsTransaction = submissions.some((s) => s.heartbeats.some((h) => h.inventory || h.journalGap || h.diskHealth));
    const write = () => this.writeRows(submissions, rows, receivedAt);
    const { stored, written } = await (needsTransaction ? this.db.detached(write) : write());
    // Committed: the documents sent in full are now the stored ones, with their heartbeat's sequence.
    for (const row of rows.latest) {
      if (!written.latest.has(row.d)) continue;
      for (const [kind, hash] of Object.entries(row.written) as Array<[keyof typeof row.written, string]>)
        this.documents.remember(row.d, kind, { hash, sequence: row.s });
    }
    return stored;
  }

  private async writeRows(
    submissions: HeartbeatSubmission[],
    rows: BatchRows,
    receivedAt: Date,
  ): Promise<{ stored: StoredBatch; written: BatchWriteResult }> {
    const written = await this.batches.write(rows, receivedAt, offlineAfterMs(this.config.API_AGENT_HEARTBEAT_SECONDS));
    const newest = new Map<string, Heartbeat>();
    const inventories = [];
    const diskHealth: ReportedDiskHealth[] = [];
    const events: RecordedDeviceEvent[] = [];
    for (const { deviceId, heartbeats } of submissions) {
      for (const h of heartbeats) {
        if (!written.inserted.has(`${deviceId}:${h.sequence}`)) continue;
        if ((newest.get(deviceId)?.sequence ?? -1) < h.sequence) newest.set(deviceId, h);
        if (h.inventory) inventories.push({ deviceId, sequence: h.sequence, reportedAt: receivedAt, report: h.inventory });
        if (h.diskHealth) diskHealth.push({ deviceId, sequence: h.sequence, reportedAt: receivedAt, report: h.diskHealth });
        if (h.journalGap) {
          events.push(
            await this.events.append({
              deviceId,
              type: 'journal.gap',
              severity: 'warning',
              at: receivedAt,
              details: { ...h.journalGap, reportedInSequence: h.sequence },
            }),
          );
        }
      }
    }
    if (inventories.length > 0) events.push(...(await this.inventory.record(inventories)));
    if (diskHealth.length > 0) events.push(...(await this.diskHealth.record(diskHealth)));

    const outcomes = outcomesOf(submissions, written.inserted, written.lastSequences).map((outcome, i) =>
      written.lastSequences.has(submissions[i]!.deviceId) ? outcome : null,
    );
    return { stored: { outcomes, receivedAt, cameOnline: written.cameOnline, events, newest, becameLatest: written.latest }, written };
  }
}
