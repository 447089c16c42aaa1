import { Inject, Injectable, Logger } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../config/config.js';
import { TelemetryMaintenanceService } from '../telemetry/telemetry-maintenance.service.js';
import { HeartbeatStorageService } from '../ingest/heartbeat-storage.service.js';
import { CommandExpiry } from '../commands/command-expiry.js';
import { AlertEvaluator } from '../alerts/alert-evaluator.js';
import { BackupScheduleService } from '../backups/backup-schedule.service.js';
import { BackupOverdueService } from '../backups/backup-overdue.service.js';
import { FeedScheduleJob } from '../scanners/feed-schedule.job.js';
import { REPORT_SUMMARY_RETENTION_SECONDS } from '@xspectre/contracts';
import { offlineAfterMs } from '../devices/connectivity.js';
import { UnrecoverableError, type Job } from 'bullmq';
import { AuditService } from '../audit/audit.service.js';
import { SessionsService } from '../auth/sessions.service.js';
import { LivePublisher } from '../live/live-publisher.js';
import { TerminalRecordings } from '../remote-access/terminal/terminal-recordings.js';
import { DiskImageSweepService } from '../disk-images/disk-image-sweep.service.js';
import { DiskImageScheduleService } from '../disk-images/disk-image-schedule.service.js';
import { DiskImageOverdueService } from '../disk-images/disk-image-overdue.service.js';
import { MaintenanceJob, type MaintenanceResult, type MaintenanceResults } from './maintenance.jobs.js';

/** Each run re-aggregates what arrived in the last ten minutes (runs are every minute: overlap is harmless). */
export const ROLLUP_LOOKBACK_MS = 10 * 60_000;
/** 1-minute rollups serve ranges up to a week; longer ranges read the hourly ones. */
export const MINUTE_ROLLUP_RETENTION_MS = 8 * 24 * 3600 * 1000;

/** Day partitions (metric samples, heartbeats) kept ready ahead of today, so inserts never find a missing partition. */
export const METRIC_PARTITIONS_AHEAD_DAYS = 7;

/** Ended sessions are kept this long so recent logouts and revocations can still be investigated. */
export const SESSION_RETENTION_MS = 7 * 24 * 3600 * 1000;

/** Runs maintenance jobs; knows nothing about BullMQ beyond the job's name. */
@Injectable()
export class MaintenanceProcessor {
  private readonly logger = new Logger(MaintenanceProcessor.name);

  constructor(
    private readonly sessions: SessionsService,
    private readonly audit: AuditService,
    private readonly telemetry: TelemetryMaintenanceService,
    private readonly heartbeatStorage: HeartbeatStorageService,
    private readonly commandExpiry: CommandExpiry,
    private readonly alerts: AlertEvaluator,
    private readonly backupSchedule: BackupScheduleService,
    private readonly backupOverdue: BackupOverdueService,
    private readonly feedSchedule: FeedScheduleJob,
    private readonly live: LivePublisher,
    private readonly recordings: TerminalRecordings,
    private readonly diskImageSweep: DiskImageSweepService,
    private readonly diskImageSchedule: DiskImageScheduleService,
    private readonly diskImageOverdue: DiskImageOverdueService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  process(job: Pick<Job, 'name'>): Promise<MaintenanceResult> {
    switch (job.name) {
      case MaintenanceJob.PurgeSessions:
        return this.purgeSessions();
      case MaintenanceJob.VerifyAuditChain:
        return this.verifyAuditChain(false);
      case MaintenanceJob.VerifyAuditChainFull:
        return this.verifyAuditChain(true);
      case MaintenanceJob.MetricPartitions:
        return this.maintainMetricPartitions();
      case MaintenanceJob.HeartbeatPartitions:
        return this.maintainHeartbeatPartitions();
      case MaintenanceJob.DetectOffline:
        return this.detectOffline();
      case MaintenanceJob.MetricRollups:
        return this.rollUpMetrics();
      case MaintenanceJob.AuditCheckpoint:
        return this.checkpointAuditChain();
      case MaintenanceJob.ExpireCommands:
        return this.expireCommands();
      case MaintenanceJob.EvaluateAlerts:
        return this.alerts.run();
      case MaintenanceJob.ScheduleBackups:
        return this.scheduleBackups();
      case MaintenanceJob.DetectOverdueBackups:
        return this.backupOverdue.detect().then((overdue) => ({ overdue }));
      case MaintenanceJob.ScheduleFeedUpdates:
        return this.feedSchedule.scheduleDue().then((scheduled) => ({ scheduled }));
      case MaintenanceJob.PurgeReportSummaries:
        return this.purgeReportSummaries();
      case MaintenanceJob.PruneTerminalRecordings:
        return this.pruneTerminalRecordings();
      case MaintenanceJob.SweepDiskImageJobs:
        return this.diskImageSweep.sweep().then((failed) => ({ failed }));
      case MaintenanceJob.ScheduleDiskImages:
        return this.diskImageSchedule.scheduleDue().then((slots) => ({
          slots: slots.map((s) => ({ deviceId: s.deviceId, slotDate: s.slotDate, outcome: s.outcome, jobId: s.jobId })),
        }));
      case MaintenanceJob.DetectOverdueDiskImages:
        return this.diskImageOverdue.detect().then((overdue) => ({ overdue }));
      default:
        // Unrecoverable: retrying cannot teach this worker a job it does not know.
        throw new UnrecoverableError(`unknown maintenance job "${job.name}" (known: ${Object.values(MaintenanceJob).join(', ')})`);
    }
  }

  private async scheduleBackups(): Promise<MaintenanceResults[typeof MaintenanceJob.ScheduleBackups]> {
    const runs = await this.backupSchedule.scheduleDue();
    return { scheduled: runs.map((r) => ({ runId: r.id, deviceId: r.deviceId, slotDate: r.slotDate })) };
  }

  /** Scan results leave the site for a day at most: the summaries' output is erased after REPORT_SUMMARY_RETENTION_SECONDS. */
  private async purgeReportSummaries(): Promise<MaintenanceResults[typeof MaintenanceJob.PurgeReportSummaries]> {
    const purged = await this.commandExpiry.purgeResultOutput(new Date(Date.now() - REPORT_SUMMARY_RETENTION_SECONDS * 1000));
    if (purged.length) this.logger.log({ msg: 'report summaries erased', commands: purged });
    return { purged };
  }

  /** Recordings are audit evidence for API_TERMINAL_RECORDING_RETENTION_DAYS; the session rows and their sealed hashes stay. */
  private async pruneTerminalRecordings(): Promise<MaintenanceResults[typeof MaintenanceJob.PruneTerminalRecordings]> {
    const before = new Date(Date.now() - this.config.API_TERMINAL_RECORDING_RETENTION_DAYS * 24 * 3600 * 1000);
    return { pruned: await this.recordings.prune(before) };
  }

  private async purgeSessions(): Promise<MaintenanceResults[typeof MaintenanceJob.PurgeSessions]> {
    const purged = await this.sessions.purgeExpired(new Date(Date.now() - SESSION_RETENTION_MS));
    return { purged };
  }

  /** Folds recently received samples into 1-minute and 1-hour rollups; prunes old 1-minute ones. */
  private async rollUpMetrics(): Promise<MaintenanceResults[typeof MaintenanceJob.MetricRollups]> {
    const result = await this.telemetry.rollUpReceivedSince(new Date(Date.now() - ROLLUP_LOOKBACK_MS));
    await this.telemetry.pruneRollups(
      new Date(Date.now() - MINUTE_ROLLUP_RETENTION_MS),
      new Date(Date.now() - this.config.API_METRIC_ROLLUPS_RETENTION_DAYS * 24 * 3600 * 1000),
    );
    return result;
  }

  /** Marks devices offline once three heartbeat intervals passed without one (the alert engine judges offline durations from the same heartbeat times). */
  private async detectOffline(): Promise<MaintenanceResults[typeof MaintenanceJob.DetectOffline]> {
    const transitions = await this.telemetry.markSilentOffline(offlineAfterMs(this.config.API_AGENT_HEARTBEAT_SECONDS));
    const wentOffline = transitions.map((t) => t.deviceId);
    if (wentOffline.length) this.logger.warn({ msg: 'devices went offline', devices: wentOffline });
    // The insert has committed (one statement, no transaction around it): consoles may hear of it now.
    await this.live.devicesChanged(
      transitions.map((t) => ({ id: t.deviceId, connectivity: 'offline' as const })),
      'fleet',
    );
    // One `device.events` for the run (chunked), not one message per device: a fleet dropping at once stays a few messages.
    await this.live.deviceEvents(
      transitions.map((t) => ({
        deviceId: t.deviceId,
        event: { type: 'connectivity.offline', severity: 'warning', at: t.at.toISOString() },
      })),
    );
    return { wentOffline };
  }

  /** Commands their device never fetched within their 5 minutes: the agent would refuse them now anyway. */
  private async expireCommands(): Promise<MaintenanceResults[typeof MaintenanceJob.ExpireCommands]> {
    const expired = await this.commandExpiry.expireOverdue();
    if (expired.length) this.logger.log({ msg: 'commands expired undelivered', commands: expired.map((c) => c.id) });
    return { expired: expired.map((c) => c.id) };
  }

  private async maintainMetricPartitions(): Promise<MaintenanceResults[typeof MaintenanceJob.MetricPartitions]> {
    const created = await this.telemetry.ensurePartitionsAhead(METRIC_PARTITIONS_AHEAD_DAYS);
    const dropped = await this.telemetry.dropPartitionsOlderThan(
      new Date(Date.now() - this.config.API_METRICS_RETENTION_DAYS * 24 * 3600 * 1000),
    );
    if (created || dropped.length) this.logger.log({ msg: 'metric partitions maintained', created, dropped });
    return { created, dropped };
  }

  /** Raw heartbeat rows by day received: a week ahead, whole days past API_HEARTBEAT_RETENTION_DAYS dropped. */
  private async maintainHeartbeatPartitions(): Promise<MaintenanceResults[typeof MaintenanceJob.HeartbeatPartitions]> {
    const created = await this.heartbeatStorage.ensurePartitionsAhead(METRIC_PARTITIONS_AHEAD_DAYS);
    const dropped = await this.heartbeatStorage.dropPartitionsOlderThan(
      new Date(Date.now() - this.config.API_HEARTBEAT_RETENTION_DAYS * 24 * 3600 * 1000),
    );
    if (created || dropped.length) this.logger.log({ msg: 'heartbeat partitions maintained', created, dropped });
    return { created, dropped };
  }

  /** Signs the chain's head into API_AUDIT_ANCHOR_DIR; the line also goes to this log, a second copy out of the database's reach. */
  private async checkpointAuditChain(): Promise<MaintenanceResults[typeof MaintenanceJob.AuditCheckpoint]> {
    const result = await this.audit.checkpoint();
    if (result.line) this.logger.log({ msg: 'audit checkpoint', checkpoint: result.line });
    if (result.refused) {
      await this.audit.appendDetached({
        action: 'audit.chain_broken',
        resourceType: 'audit',
        result: 'failure',
        details: { reason: result.refused },
        userId: null,
        userEmail: 'system',
      });
    }
    return { id: result.written?.id ?? null, refused: result.refused ?? null };
  }

  /** Records its result for GET audit/verify (AuditService.verifyChain); `full` walks from the first row. */
  private async verifyAuditChain(full: boolean): Promise<MaintenanceResults[typeof MaintenanceJob.VerifyAuditChain]> {
    const result = await this.audit.verifyChain({ full });
    if (!result.intact) {
      this.logger.error({ msg: 'audit chain broken', firstBrokenId: result.firstBrokenId, reason: result.reason, checked: result.checked });
      // Recorded in the audit log itself, so the break shows up where operators look.
      await this.audit.appendDetached({
        action: 'audit.chain_broken',
        resourceType: 'audit',
        result: 'failure',
        details: { firstBrokenId: result.firstBrokenId, reason: result.reason },
        userId: null,
        userEmail: 'system',
      });
    }
    return result;
  }
}
