import { Controller, Get, Put } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { z } from 'zod';
import {
  BackupEscrowSchema,
  BackupRecoveryKeySchema,
  BackupRecoveryKeyUpdateSchema,
  BackupTransferKeySchema,
  IdParamSchema,
  type BackupRecoveryKeyUpdate,
} from '@xspectre/contracts';
import { CurrentActor } from '../common/context/current-actor.decorator.js';
import type { Actor } from '../common/context/request-context.js';
import { Audited, Critical, RequirePermission } from '../common/http/route-access.decorators.js';
import { ZodBody, ZodParams, ZodResponse } from '../common/validation/zod-decorators.js';
import { ApiSummary } from '../openapi/api-summary.decorator.js';
import { BackupEscrowService } from './backup-escrow.service.js';

type Id = z.infer<typeof IdParamSchema>;

/** The repository passwords' escrow and the transfer keys of replacement devices (api/docs/backup-recovery.md). */
@ApiTags('backups')
@Controller()
export class BackupEscrowController {
  constructor(private readonly escrow: BackupEscrowService) {}

  /** A public key and escrow counts: whoever sees backups sees whether their passwords are escrowed. */
  @Get('backups/recovery-key')
  @ApiSummary('The offline recovery key repository passwords are escrowed to, and how many devices have escrowed to it')
  @RequirePermission('backups.view')
  @ZodResponse(200, BackupRecoveryKeySchema)
  recoveryKey() {
    return this.escrow.recoveryKey();
  }

  /** Super Admin with a fresh TOTP: every device escrows its password to the new key at its next run. */
  @Put('backups/recovery-key')
  @ApiSummary('Set the offline recovery key (an age public key)', { errors: ['AUTH_FORBIDDEN'] })
  @RequirePermission('settings.manage')
  @Critical()
  @Audited('backup.recovery_key_set', 'backup_recovery_key')
  @ZodResponse(200, BackupRecoveryKeySchema)
  setRecoveryKey(@ZodBody(BackupRecoveryKeyUpdateSchema) body: BackupRecoveryKeyUpdate, @CurrentActor() actor: Actor) {
    return this.escrow.setRecoveryKey(actor, body);
  }

  /** The ciphertext only; decrypt it offline with `age -d -i recovery.key`. Audited (without the ciphertext) by the service: reads are not audited by the pipeline. */
  @Get('devices/:id/backup-escrow')
  @ApiSummary("A device's escrowed repository password, encrypted to the recovery key", {
    errors: ['DEVICE_NOT_FOUND', 'BACKUP_ESCROW_NOT_FOUND', 'AUTH_FORBIDDEN'],
  })
  @RequirePermission('backups.restore')
  @Critical()
  @ZodResponse(200, BackupEscrowSchema)
  escrowOf(@ZodParams(IdParamSchema) params: Id, @CurrentActor() actor: Actor) {
    return this.escrow.escrowFor(actor, params.id);
  }

  /** What the console encrypts a password to when restoring another device's backups onto this one. */
  @Get('devices/:id/backup-transfer-key')
  @ApiSummary("A device's transfer key (to receive another device's repository password)", { errors: ['DEVICE_NOT_FOUND'] })
  @RequirePermission('backups.restore')
  @ZodResponse(200, BackupTransferKeySchema)
  transferKey(@ZodParams(IdParamSchema) params: Id) {
    return this.escrow.transferKey(params.id);
  }
}
