import { Injectable } from '@nestjs/common';
import { RecoveryMediaRepository } from './recovery-media.repository.js';

/** Read-only questions about recovery media for features below the API's routes (the worker's disk-image schedule). */
@Injectable()
export class RecoveryMediaQueries {
  constructor(private readonly media: RecoveryMediaRepository) {}

  /** Whether the device has an active recovery medium (at most one per device). */
  hasActiveMedium(deviceId: string): Promise<boolean> {
    return this.media.hasActiveForDevice(deviceId);
  }
}
