import { Injectable } from '@nestjs/common';
import type { RecoveryHardware, RecoveryProgress } from '@xspectre/contracts';
import { RecoveryService } from '../recovery/recovery.service.js';

/** What the disk-image jobs need of recovery mode: the stick's disks and its latest progress. */
export interface RecoveryModeView {
  hardware: RecoveryHardware;
  progress: RecoveryProgress | null;
}

/**
 * The one place this folder meets the recovery feature (api/src/recovery): whether a device's
 * stick is registered now (RECOVERY MODE), and a listener for each registration.
 */
@Injectable()
export class RecoveryPort {
  constructor(private readonly recovery: RecoveryService) {}

  async currentMode(deviceId: string): Promise<RecoveryModeView | null> {
    const mode = await this.recovery.currentMode(deviceId);
    return mode ? { hardware: mode.hardware, progress: mode.progress ?? null } : null;
  }

  onRegistered(listener: (deviceId: string, hardware: RecoveryHardware) => Promise<void>): void {
    this.recovery.onRegistered(listener);
  }
}
