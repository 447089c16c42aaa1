import type { AuditVerifyResponse } from '@xspectre/contracts';
import type { EvaluationResult } from '../alerts/alert-evaluator.js';
import type { ScheduledFeedUpdate } from '../scanners/feed-schedule.job.js';

/** The BullMQ queue that carries every housekeeping job. */
export const MAINTENANCE_QUEUE = 'maintenance';

/** Job names; a job's name selects what the processor does (there is one queue for all of them). */
export const MaintenanceJob = {
  PurgeSessions: 'maintenance.purge-sessions',
  /** Incremental: only the rows after the last verified one (AuditService.verifyChain). */
  VerifyAuditChain: 'maintenance.verify-audit-chain',
  /** The whole chain from its first row. */
  VerifyAuditChainFull: 'maintenance.verify-audit-chain-full',
  MetricPartitions: 'maintenance.metric-partitions',
  /** Day partitions of device_heartbeats: ahead, and dropped after API_HEARTBEAT_RETENTION_DAYS. */
  HeartbeatPartitions: 'maintenance.heartbeat-partitions',
  DetectOffline: 'maintenance.detect-offline',
  MetricRollups: 'maintenance.metric-rollups',
  AuditCheckpoint: 'maintenance.audit-checkpoint',
  ExpireCommands: 'maintenance.expire-commands',
  EvaluateAlerts: 'maintenance.evaluate-alerts',
  /** Every minute: a run row for each FILE device whose nightly slot (site time) has come. */
  ScheduleBackups: 'maintenance.schedule-backups',
  /** Every 10 minutes: a backup.overdue event for each FILE device that newly has no success in BACKUP_OVERDUE_HOURS. */
  DetectOverdueBackups: 'maintenance.detect-overdue-backups',
  /** Every 5 minutes: a run per active scanner of each site whose feed update slot has come (queued at its poll). */
  ScheduleFeedUpdates: 'maintenance.schedule-feed-updates',
  /** Every 10 minutes: report summaries' output erased REPORT_SUMMARY_RETENTION_SECONDS after it arrived. */
  PurgeReportSummaries: 'maintenance.purge-report-summaries',
  /** Daily: recording files of terminal sessions opened more than API_TERMINAL_RECORDING_RETENTION_DAYS ago (rows and hashes stay). */
  PruneTerminalRecordings: 'maintenance.prune-terminal-recordings',
  /** Every minute: full-disk image jobs whose wait for the recovery stick or the agent is over fail (api/src/disk-images). */
  SweepDiskImageJobs: 'maintenance.sweep-disk-image-jobs',
  /** Every minute: a disk-image job for each FULL/HYBRID device whose weekly slot (site time, Sunday 03:00 by default) has come. */
  ScheduleDiskImages: 'maintenance.schedule-disk-images',
  /** Every 10 minutes: a disk_image.overdue event for each FULL/HYBRID device that newly has no image in DISK_IMAGE_OVERDUE_DAYS. */
  DetectOverdueDiskImages: 'maintenance.detect-overdue-disk-images',
} as const;
export type MaintenanceJobName = (typeof MaintenanceJob)[keyof typeof MaintenanceJob];

/** What each job carries. All jobs are parameterless today; scheduled runs enqueue `{}`. */
export interface MaintenancePayloads {
  [MaintenanceJob.PurgeSessions]: Record<string, never>;
  [MaintenanceJob.VerifyAuditChain]: Record<string, never>;
  [MaintenanceJob.VerifyAuditChainFull]: Record<string, never>;
  [MaintenanceJob.MetricPartitions]: Record<string, never>;
  [MaintenanceJob.HeartbeatPartitions]: Record<string, never>;
  [MaintenanceJob.DetectOffline]: Record<string, never>;
  [MaintenanceJob.MetricRollups]: Record<string, never>;
  [MaintenanceJob.AuditCheckpoint]: Record<string, never>;
  [MaintenanceJob.ExpireCommands]: Record<string, never>;
  [MaintenanceJob.EvaluateAlerts]: Record<string, never>;
  [MaintenanceJob.ScheduleBackups]: Record<string, never>;
  [MaintenanceJob.DetectOverdueBackups]: Record<string, never>;
  [MaintenanceJob.ScheduleFeedUpdates]: Record<string, never>;
  [MaintenanceJob.PurgeReportSummaries]: Record<string, never>;
  [MaintenanceJob.PruneTerminalRecordings]: Record<string, never>;
  [MaintenanceJob.SweepDiskImageJobs]: Record<string, never>;
  [MaintenanceJob.ScheduleDiskImages]: Record<string, never>;
  [MaintenanceJob.DetectOverdueDiskImages]: Record<string, never>;
}

/** What each job returns (stored by BullMQ as the job's return value). */
export interface MaintenanceResults {
  [MaintenanceJob.PurgeSessions]: { purged: number };
  [MaintenanceJob.VerifyAuditChain]: AuditVerifyResponse;
  [MaintenanceJob.VerifyAuditChainFull]: AuditVerifyResponse;
  [MaintenanceJob.MetricPartitions]: { created: number; dropped: string[] };
  [MaintenanceJob.HeartbeatPartitions]: { created: number; dropped: string[] };
  [MaintenanceJob.DetectOffline]: { wentOffline: string[] };
  [MaintenanceJob.MetricRollups]: { minutes: number; hours: number };
  /** The checkpoint written (null: head unchanged, or refused because the chain lost the previous one). */
  [MaintenanceJob.AuditCheckpoint]: { id: string | null; refused: string | null };
  /** Commands that were never fetched within their validity. */
  [MaintenanceJob.ExpireCommands]: { expired: string[] };
  /** The alert engine's periodic evaluation (skipped: another instance was evaluating). */
  [MaintenanceJob.EvaluateAlerts]: EvaluationResult;
  /** The runs created (device and local slot date). */
  [MaintenanceJob.ScheduleBackups]: { scheduled: Array<{ runId: string; deviceId: string; slotDate: string }> };
  /** The devices whose overdue episode began in this run (each gets one backup.overdue). */
  [MaintenanceJob.DetectOverdueBackups]: { overdue: string[] };
  /** The runs created (device, slot, due time with jitter). */
  [MaintenanceJob.ScheduleFeedUpdates]: { scheduled: ScheduledFeedUpdate[] };
  /** The commands whose output was erased. */
  [MaintenanceJob.PurgeReportSummaries]: { purged: string[] };
  /** The sessions whose recording file was removed. */
  [MaintenanceJob.PruneTerminalRecordings]: { pruned: string[] };
  /** The jobs that failed in this run. */
  [MaintenanceJob.SweepDiskImageJobs]: { failed: string[] };
  /** The slots taken in this run: queued (a job), skipped (a job was open) or failed (no recovery medium). */
  [MaintenanceJob.ScheduleDiskImages]: {
    slots: Array<{ deviceId: string; slotDate: string; outcome: string; jobId: string | null }>;
  };
  /** The devices whose overdue episode began in this run (each gets one disk_image.overdue). */
  [MaintenanceJob.DetectOverdueDiskImages]: { overdue: string[] };
}

export type MaintenancePayload = MaintenancePayloads[MaintenanceJobName];
export type MaintenanceResult = MaintenanceResults[MaintenanceJobName];
