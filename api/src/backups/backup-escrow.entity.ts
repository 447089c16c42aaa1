import { Check, Column, Entity, ForeignKey, PrimaryColumn } from 'typeorm';

/**
 * The offline recovery key (one row at most): the age public key repository passwords are
 * escrowed to. Its private half never reaches the API (api/docs/backup-recovery.md).
 */
@Entity({ name: 'backup_recovery_key' })
@Check('chk_backup_recovery_key_singleton', `"singleton"`)
export class BackupRecoveryKeyEntity {
  @PrimaryColumn({ type: 'boolean', default: true, primaryKeyConstraintName: 'pk_backup_recovery_key' })
  singleton!: boolean;

  @Column({ type: 'text' })
  recipient!: string;

  @Column({ name: 'set_at', type: 'timestamptz' })
  setAt!: Date;

  @Column({ name: 'set_by', type: 'text' })
  setBy!: string;
}

/**
 * A device's repository password encrypted (age, armored) to the recovery key named in
 * `recipient`, as the device reported it. A key change does not delete it: a device that is dead
 * by then never re-escrows, and its escrow to the earlier key is all there is.
 */
@Entity({ name: 'backup_escrows' })
@Check('chk_backup_escrows_ciphertext', `length("ciphertext") <= 4096`)
export class BackupEscrowEntity {
  @ForeignKey('DeviceEntity', { name: 'fk_backup_escrows_device', onDelete: 'CASCADE' })
  @PrimaryColumn({ name: 'device_id', type: 'uuid', primaryKeyConstraintName: 'pk_backup_escrows' })
  deviceId!: string;

  @Column({ type: 'text' })
  recipient!: string;

  @Column({ type: 'text' })
  ciphertext!: string;

  @Column({ name: 'escrowed_at', type: 'timestamptz' })
  escrowedAt!: Date;
}
