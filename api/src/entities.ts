import { AuditEventEntity } from './audit/audit-event.entity.js';
import { AuditVerificationEntity } from './audit/audit-verification.entity.js';
import { RefreshTokenEntity } from './auth/refresh-token.entity.js';
import { SessionEntity } from './auth/session.entity.js';
import { RecoveryCodeEntity } from './auth/recovery-code.entity.js';
import { UserEntity } from './auth/user.entity.js';
import { OrganizationEntity } from './organizations/organization.entity.js';
import { SiteEntity } from './organizations/site.entity.js';
import { SecuritySettingsEntity } from './settings/security-settings.entity.js';
import { DeviceEntity } from './devices/device.entity.js';
import { ClaimCodeEntity } from './devices/claim-code.entity.js';
import { OverlayLeaseEntity } from './hub/overlay-lease.entity.js';
import { DeviceTelemetryEntity } from './telemetry/device-telemetry.entity.js';
import { ConnectivityEventEntity } from './telemetry/connectivity-event.entity.js';
import { InventoryVersionEntity } from './inventory/inventory-version.entity.js';
import { DiskHealthEntity } from './inventory/disk-health.entity.js';
import { DeviceEventEntity } from './device-events/device-event.entity.js';
import { CommandEntity } from './commands/command.entity.js';
import { ScriptEntity } from './scripts/script.entity.js';
import { ScriptVersionEntity } from './scripts/script-version.entity.js';
import { AlertRuleEntity } from './alerts/alert-rule.entity.js';
import { AlertConditionEntity } from './alerts/alert-condition.entity.js';
import { AlertEntity } from './alerts/alert.entity.js';
import { SilenceEntity } from './alerts/silence.entity.js';
import { OutboxCursorEntity } from './alerts/outbox-cursor.entity.js';
import { AlertTargetEntity } from './alert-delivery/alert-target.entity.js';
import { AlertDeliveryEntity } from './alert-delivery/alert-delivery.entity.js';
import { BackupPolicyEntity } from './backups/backup-policy.entity.js';
import { BackupRunEntity } from './backups/backup-run.entity.js';
import { BackupServerReportEntity } from './backups/backup-server-report.entity.js';
import { BackupDeviceUsageEntity } from './backups/backup-device-usage.entity.js';
import { BackupEscrowEntity, BackupRecoveryKeyEntity } from './backups/backup-escrow.entity.js';
import { BackupTransferKeyEntity } from './backups/backup-transfer-key.entity.js';
import { BackupSnapshotEntity } from './backups/backup-snapshot.entity.js';
import { BackupDeviceStateEntity } from './backups/backup-device-state.entity.js';
import { ServiceCredentialEntity } from './auth/service-credential.entity.js';
import { UserIdentityEntity } from './auth/user-identity.entity.js';
import { IdentityProviderEntity } from './sso/identity-provider.entity.js';
import { ScannerSnapshotEntity } from './scanners/scanner-snapshot.entity.js';
import { ScannerFeedRunEntity, ScannerFeedScheduleEntity } from './scanners/feed-schedule.entity.js';
import { RemoteSessionEntity } from './remote-access/remote-session.entity.js';
import { DiskImageEntity } from './disk-images/disk-image.entity.js';
import { DiskImageJobEntity } from './disk-images/disk-image-job.entity.js';
import { DiskImageSlotEntity } from './disk-images/disk-image-slot.entity.js';
import { DiskImageDeviceStateEntity } from './disk-images/disk-image-device-state.entity.js';
import { RecoveryMediumEntity } from './recovery/recovery-medium.entity.js';
import {
  ScannerDockerSampleEntity,
  ScannerFeedVersionEntity,
  ScannerReportCountsEntity,
  ScannerTaskStateEntity,
} from './scanners/scanner-history.entity.js';

/**
 * Every entity the API and the worker map, for DatabaseModule.register and dataSourceOptions. A
 * composition root: db imports no feature, so its callers pass this list.
 */
export const ENTITIES = [
  UserEntity,
  RecoveryCodeEntity,
  SessionEntity,
  RefreshTokenEntity,
  OrganizationEntity,
  SiteEntity,
  SecuritySettingsEntity,
  AuditEventEntity,
  AuditVerificationEntity,
  DeviceEntity,
  ClaimCodeEntity,
  OverlayLeaseEntity,
  DeviceTelemetryEntity,
  ConnectivityEventEntity,
  InventoryVersionEntity,
  DiskHealthEntity,
  DeviceEventEntity,
  CommandEntity,
  ScriptEntity,
  ScriptVersionEntity,
  AlertRuleEntity,
  AlertConditionEntity,
  AlertEntity,
  SilenceEntity,
  OutboxCursorEntity,
  AlertTargetEntity,
  AlertDeliveryEntity,
  BackupPolicyEntity,
  BackupRunEntity,
  BackupServerReportEntity,
  BackupDeviceUsageEntity,
  BackupRecoveryKeyEntity,
  BackupEscrowEntity,
  BackupTransferKeyEntity,
  BackupSnapshotEntity,
  BackupDeviceStateEntity,
  ServiceCredentialEntity,
  ScannerSnapshotEntity,
  ScannerTaskStateEntity,
  ScannerReportCountsEntity,
  ScannerFeedVersionEntity,
  ScannerDockerSampleEntity,
  ScannerFeedScheduleEntity,
  ScannerFeedRunEntity,
  IdentityProviderEntity,
  UserIdentityEntity,
  RemoteSessionEntity,
  DiskImageEntity,
  DiskImageJobEntity,
  DiskImageSlotEntity,
  DiskImageDeviceStateEntity,
  RecoveryMediumEntity,
];
