import { Injectable } from '@nestjs/common';
import type {
  BackupEscrow,
  BackupRecoveryKey,
  BackupRecoveryKeyUpdate,
  BackupRestoreRequest,
  BackupRunResult,
  BackupTransferKey,
} from '@xspectre/contracts';
import { AuditService } from '../audit/audit.service.js';
import { AppError } from '../common/errors/app-error.js';
import type { Actor } from '../common/context/request-context.js';
import { requestContext } from '../common/context/request-context.js';
import { Database } from '../db/database.js';
import { DevicesService, type DeviceRecord } from '../devices/devices.service.js';
import { BackupEscrowRepository } from './backup-escrow.repository.js';

/**
 * The repository passwords' escrow: the offline recovery key (an age public key a Super Admin
 * sets), each device's password encrypted to it as the device reported it, and the transfer keys
 * devices make to receive another device's password (new hardware). Neither the API nor the
 * backup server can decrypt any of it (api/docs/backup-recovery.md).
 */
@Injectable()
export class BackupEscrowService {
  constructor(
    private readonly repo: BackupEscrowRepository,
    private readonly devices: DevicesService,
    private readonly db: Database,
    private readonly audit: AuditService,
  ) {}

  /** The recovery key a `backup.run` asks the device to escrow to: null when its escrow is to the current key already, or no key is set. */
  async recipientFor(deviceId: string): Promise<string | null> {
    const key = await this.repo.recoveryKey();
    if (!key) return null;
    const escrow = await this.repo.findEscrow(deviceId);
    return escrow?.recipient === key.recipient ? null : key.recipient;
  }

  /**
   * Keeps the escrow a successful run reported (in the report's transaction); a null escrow
   * changes nothing. An escrow to a key that is no longer the recovery key (replaced between the
   * run's queueing and its report) is dropped: it would replace a possibly newer escrow to the
   * current key, and the device is asked again at its next run since recipientFor still names the
   * current key. Returns whether it was kept.
   */
  async recordFromResult(deviceId: string, escrow: BackupRunResult['escrow'], at: Date): Promise<boolean> {
    if (!escrow) return false;
    return this.repo.saveEscrowToCurrentKey(deviceId, escrow.recipient, escrow.ciphertext, at);
  }

  async recoveryKey(): Promise<BackupRecoveryKey> {
    const key = await this.repo.recoveryKey();
    // '' matches no escrow: with no key set, every device that backs up is still to escrow.
    const coverage = await this.repo.escrowCoverage(key?.recipient ?? '');
    return {
      recipient: key?.recipient ?? null,
      setAt: key?.setAt.toISOString() ?? null,
      setBy: key?.setBy ?? null,
      devicesEscrowed: coverage.escrowed,
      devicesPending: coverage.pending,
    };
  }

  /** Sets the recovery key (Super Admin, step-up): every device escrows to it at its next run; escrows to the earlier key stay until then. */
  async setRecoveryKey(actor: Actor, body: BackupRecoveryKeyUpdate): Promise<BackupRecoveryKey> {
    assertSuperAdmin(actor, 'setting the recovery key');
    const before = await this.repo.recoveryKey();
    await this.repo.setRecoveryKey(body.recipient, actor.email, new Date());
    requestContext.annotate({ details: { recipient: body.recipient, ...(before ? { previousRecipient: before.recipient } : {}) } });
    return this.recoveryKey();
  }

  /**
   * A device's escrowed password ciphertext (Super Admin, step-up), to decrypt offline with the
   * recovery key. A read, so the request pipeline records nothing: the audit row is appended here,
   * in the transaction that reads it, without the ciphertext.
   */
  async escrowFor(actor: Actor, deviceId: string): Promise<BackupEscrow> {
    assertSuperAdmin(actor, 'reading an escrowed password');
    const device = await this.devices.requireDevice(deviceId);
    const found = await this.db.transaction(async (manager) => {
      const escrow = await this.repo.findEscrow(device.id);
      if (!escrow) return null;
      await this.audit.append(manager, {
        action: 'backup.escrow_read',
        resourceType: 'device',
        resourceId: device.id,
        result: 'success',
        details: { method: 'GET', recipient: escrow.recipient, escrowedAt: escrow.escrowedAt.toISOString() },
      });
      return escrow;
    });
    if (!found) {
      await this.audit.appendDetached({
        action: 'backup.escrow_read',
        resourceType: 'device',
        resourceId: device.id,
        result: 'failure',
        errorMessage: 'BACKUP_ESCROW_NOT_FOUND',
        details: { method: 'GET' },
      });
      throw new AppError('BACKUP_ESCROW_NOT_FOUND', `${device.name} has escrowed no repository password yet (it does at its next backup)`);
    }
    return {
      deviceId: found.deviceId,
      recipient: found.recipient,
      ciphertext: found.ciphertext,
      escrowedAt: found.escrowedAt.toISOString(),
    };
  }

  /** The device's own report of its transfer key (agent route): idempotent, a new key replaces the old. */
  async reportTransferKey(deviceId: string, recipient: string): Promise<BackupTransferKey> {
    const row = await this.repo.saveTransferKey(deviceId, recipient, new Date());
    requestContext.annotate({ resourceId: deviceId, details: { recipient: row.recipient, reportedAt: row.reportedAt.toISOString() } });
    return { deviceId, recipient: row.recipient, reportedAt: row.reportedAt.toISOString() };
  }

  async transferKey(deviceId: string): Promise<BackupTransferKey> {
    const device = await this.devices.requireDevice(deviceId);
    const row = await this.repo.findTransferKey(device.id);
    return { deviceId: device.id, recipient: row?.recipient ?? null, reportedAt: row?.reportedAt.toISOString() ?? null };
  }

  /**
   * A restore of another device's backups onto `target` (new hardware): Super Admin only; the
   * source is a device of the same organization the caller may change (retired allowed: a dead
   * device is the case), never the target itself; the target has a transfer key the console
   * encrypted the password to. What the ciphertext decrypts to, the API cannot check.
   */
  async assertRestoreSource(actor: Actor, target: DeviceRecord, sourceId: string): Promise<void> {
    assertSuperAdmin(actor, "restoring another device's backups");
    if (sourceId === target.id) {
      throw new AppError('BACKUP_SOURCE_INVALID', 'the source is the device itself: restore its own backups without a source');
    }
    const source = await this.devices.findDevice(sourceId);
    if (!source) throw new AppError('BACKUP_SOURCE_INVALID', `no source device with id ${sourceId}`);
    this.devices.assertMayChange(actor, source.organizationKind);
    if (source.organizationId !== target.organizationId) {
      throw new AppError('BACKUP_SOURCE_INVALID', `${source.name} belongs to another organization than ${target.name}`);
    }
    if (!(await this.repo.findTransferKey(target.id))) {
      throw new AppError(
        'BACKUP_TRANSFER_KEY_MISSING',
        `${target.name} has reported no transfer key yet: its agent reports one when it starts (POST agent/backup-transfer-key)`,
      );
    }
  }
}

/** A restore request as the audit keeps it: the source device, never the password's ciphertext. */
export function auditableRestoreRequest(request: BackupRestoreRequest): Record<string, unknown> {
  const { source, ...rest } = request;
  return source ? { ...rest, source: { deviceId: source.deviceId } } : rest;
}

function assertSuperAdmin(actor: Actor, what: string): void {
  if (actor.role !== 'super_admin') throw new AppError('AUTH_FORBIDDEN', `${what} is for Super Admins`);
}
