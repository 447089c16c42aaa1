import { Injectable } from '@nestjs/common';
import { InventoryReportSchema, type DeviceInventory, type InventoryReport, type InventoryVersion } from '@xspectre/contracts';
import { AppError } from '../common/errors/app-error.js';
import { requestContext } from '../common/context/request-context.js';
import { DevicesService } from '../devices/devices.service.js';
import { DeviceEventsService, type RecordedDeviceEvent } from '../device-events/device-events.service.js';
import type { InventoryVersionEntity } from './inventory-version.entity.js';
import { InventoryRepository } from './inventory.repository.js';
import { SshHostKeysService } from './ssh-host-keys.service.js';
import { DiskHealthService } from './disk-health.service.js';
import { diffInventory, fingerprintOf, inventoryHash, isHardwareChange, reproducesFingerprint } from './inventory-diff.js';

export interface ReportedInventory {
  deviceId: string;
  sequence: number;
  reportedAt: Date;
  report: InventoryReport;
}

@Injectable()
export class InventoryService {
  constructor(
    private readonly inventory: InventoryRepository,
    private readonly devices: DevicesService,
    private readonly events: DeviceEventsService,
    private readonly hostKeys: SshHostKeysService,
    private readonly diskHealth: DiskHealthService,
  ) {}

  /**
   * Records inventory reports in the caller's transaction (the heartbeat write, which holds the
   * device rows locked). A report equal to the latest version adds nothing; one older than it
   * (a late replay) is ignored. A report that no longer reproduces the bound fingerprint
   * quarantines the device and appends a critical `fingerprint.changed` event. A reported SSH host
   * key other than the pinned one is kept pending (ssh-host-keys.service.ts).
   */
  async record(reports: ReportedInventory[]): Promise<RecordedDeviceEvent[]> {
    const sorted = [...reports].sort((a, b) => a.deviceId.localeCompare(b.deviceId) || a.sequence - b.sequence);
    const events: RecordedDeviceEvent[] = [];
    for (const reported of sorted) events.push(...(await this.recordOne(reported)));
    return events;
  }

  private async recordOne({ deviceId, sequence, reportedAt, report }: ReportedInventory): Promise<RecordedDeviceEvent[]> {
    const latest = await this.inventory.latest(deviceId);
    if (latest && sequence <= Number(latest.sequence)) return [];
    const hash = inventoryHash(report);
    if (latest?.hash === hash) return [];
    const hostKeyEvent = report.sshHostKey ? await this.hostKeys.observe(deviceId, report.sshHostKey, 'inventory', reportedAt) : null;
    const events = hostKeyEvent ? [hostKeyEvent] : [];
    const device = await this.devices.findDevice(deviceId);
    if (!device) return events;

    const changes = latest ? diffInventory(latest.inventory, report) : [];
    const fingerprintMatches = reproducesFingerprint(device, report);
    const version = (latest?.version ?? 0) + 1;
    await this.inventory.insert({
      deviceId,
      version,
      sequence: String(sequence),
      reportedAt,
      hash,
      inventory: report,
      fingerprintMatches,
      changes,
    });

    const hardwareChanges = changes.filter(isHardwareChange);
    if (hardwareChanges.length > 0) {
      events.push(
        await this.events.append({
          deviceId,
          type: 'hardware.changed',
          severity: 'warning',
          at: reportedAt,
          details: { inventoryVersion: version, paths: hardwareChanges.map((c) => c.path) },
        }),
      );
    }
    if (fingerprintMatches === false && !device.quarantinedAt) {
      const reason = `hardware fingerprint changed (inventory version ${version})`;
      await this.devices.quarantine(deviceId, reportedAt, reason);
      events.push(
        await this.events.append({
          deviceId,
          type: 'fingerprint.changed',
          severity: 'critical',
          at: reportedAt,
          details: { inventoryVersion: version, serial: report.serial, macs: report.macs ?? [], cpuId: report.cpu.id },
        }),
      );
    }
    return events;
  }

  async get(deviceId: string, page: { limit: number; offset: number }): Promise<DeviceInventory> {
    await this.devices.requireDevice(deviceId);
    const [latest, history, diskHealth] = await Promise.all([
      this.inventory.latest(deviceId),
      this.inventory.history(deviceId, page.limit, page.offset),
      this.diskHealth.get(deviceId),
    ]);
    // A report stored under an older, looser contract must not fail the page: shown as absent.
    const shown = latest && InventoryReportSchema.safeParse(latest.inventory).success ? latest : null;
    return {
      deviceId,
      current: shown ? { ...toVersionDto(shown), inventory: shown.inventory } : null,
      history: { items: history.items.map(toVersionDto), total: history.total, ...page },
      diskHealth,
    };
  }

  /**
   * An operator vouches for the new hardware: the latest inventory's fingerprint becomes the
   * bound one and the quarantine ends. Runs in the request's transaction (audited with it).
   */
  async acceptFingerprint(deviceId: string, reason: string): Promise<RecordedDeviceEvent> {
    const device = await this.devices.requireDevice(deviceId, { lock: true });
    if (!device.quarantinedAt) throw new AppError('DEVICE_NOT_QUARANTINED');
    const latest = await this.inventory.latest(deviceId);
    const fingerprint = latest && device.installationSalt ? fingerprintOf(latest.inventory, device.installationSalt) : null;
    if (!fingerprint) throw new AppError('INVENTORY_NOT_REPORTED', 'the latest inventory report carries no MAC addresses to fingerprint');
    await this.devices.bindFingerprint(deviceId, fingerprint);
    const actor = requestContext.get()?.actor;
    requestContext.annotate({ resourceId: deviceId, details: { reason, inventoryVersion: latest!.version } });
    return this.events.record(
      {
        deviceId,
        type: 'fingerprint.accepted',
        severity: 'info',
        at: new Date(),
        details: { reason, inventoryVersion: latest!.version, acceptedBy: actor?.email ?? null },
      },
      { quarantined: false },
    );
  }
}

function toVersionDto(v: InventoryVersionEntity): InventoryVersion {
  return {
    version: v.version,
    reportedAt: v.reportedAt.toISOString(),
    sequence: Number(v.sequence),
    fingerprintMatches: v.fingerprintMatches,
    changes: v.changes,
  };
}
