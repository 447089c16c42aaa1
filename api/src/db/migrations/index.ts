import { Foundation1795420000000 } from './1795420000000-Foundation.js';
import { Devices1795430000000 } from './1795430000000-Devices.js';
import { Telemetry1795440000000 } from './1795440000000-Telemetry.js';
import { Connectivity1795450000000 } from './1795450000000-Connectivity.js';
import { Inventory1795460000000 } from './1795460000000-Inventory.js';
import { IngestTuning1795470000000 } from './1795470000000-IngestTuning.js';
import { TelemetryDocuments1795480000000 } from './1795480000000-TelemetryDocuments.js';
import { DeviceLifecycleEvents1795490000000 } from './1795490000000-DeviceLifecycleEvents.js';
import { AppRole1795505000000 } from './1795505000000-AppRole.js';
import { DeviceModules1795512000000 } from './1795512000000-DeviceModules.js';
import { Commands1795520000000 } from './1795520000000-Commands.js';
import { Scripts1795530000000 } from './1795530000000-Scripts.js';
import { PendingDeviceCredential1795540000000 } from './1795540000000-PendingDeviceCredential.js';
import { Alerts1795550000000 } from './1795550000000-Alerts.js';
import { FleetReads1795560000000 } from './1795560000000-FleetReads.js';
import { AuditScale1795570000000 } from './1795570000000-AuditScale.js';
import { HeartbeatRetention1795580000000 } from './1795580000000-HeartbeatRetention.js';
import { Backups1795590000000 } from './1795590000000-Backups.js';
import { ScannerSnapshots1795600000000 } from './1795600000000-ScannerSnapshots.js';
import { BackupCatalog1795610000000 } from './1795610000000-BackupCatalog.js';
import { BackupEscrow1795620000000 } from './1795620000000-BackupEscrow.js';
import { ScannerAlerts1795630000000 } from './1795630000000-ScannerAlerts.js';
import { ScannerOps1795640000000 } from './1795640000000-ScannerOps.js';
import { SingleSignOn1795650000000 } from './1795650000000-SingleSignOn.js';
import { RemoteAccess1795660000000 } from './1795660000000-RemoteAccess.js';
import { DiskImages1795690000000 } from './1795690000000-DiskImages.js';
import { RecoveryMedia1795700000000 } from './1795700000000-RecoveryMedia.js';
import { RecoveryShell1795716000000 } from './1795716000000-RecoveryShell.js';
import { DiskHealth1795730000000 } from './1795730000000-DiskHealth.js';
import { DiskImageSchedule1795740000000 } from './1795740000000-DiskImageSchedule.js';

/** Every migration, in order. Explicit imports keep the ESM build free of globbing. */
export const MIGRATIONS = [
  Foundation1795420000000,
  Devices1795430000000,
  Telemetry1795440000000,
  Connectivity1795450000000,
  Inventory1795460000000,
  IngestTuning1795470000000,
  TelemetryDocuments1795480000000,
  DeviceLifecycleEvents1795490000000,
  AppRole1795505000000,
  DeviceModules1795512000000,
  Commands1795520000000,
  Scripts1795530000000,
  PendingDeviceCredential1795540000000,
  Alerts1795550000000,
  FleetReads1795560000000,
  AuditScale1795570000000,
  HeartbeatRetention1795580000000,
  Backups1795590000000,
  ScannerSnapshots1795600000000,
  BackupCatalog1795610000000,
  BackupEscrow1795620000000,
  ScannerAlerts1795630000000,
  ScannerOps1795640000000,
  SingleSignOn1795650000000,
  RemoteAccess1795660000000,
  DiskImages1795690000000,
  RecoveryMedia1795700000000,
  RecoveryShell1795716000000,
  DiskHealth1795730000000,
  DiskImageSchedule1795740000000,
];
