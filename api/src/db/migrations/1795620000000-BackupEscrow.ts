import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The repository passwords' escrow (api/src/backups/backup-escrow.service.ts): the offline
 * recovery key (one row at most), each device's password encrypted to it, and the transfer keys
 * replacement devices report to receive another device's password.
 */
export class BackupEscrow1795620000000 implements MigrationInterface {
  name = 'BackupEscrow1795620000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "backup_recovery_key" ("singleton" boolean NOT NULL DEFAULT true, "recipient" text NOT NULL, "set_at" TIMESTAMP WITH TIME ZONE NOT NULL, "set_by" text NOT NULL, CONSTRAINT "chk_backup_recovery_key_singleton" CHECK ("singleton"), CONSTRAINT "pk_backup_recovery_key" PRIMARY KEY ("singleton"))`,
    );
    await queryRunner.query(
      `CREATE TABLE "backup_escrows" ("device_id" uuid NOT NULL, "recipient" text NOT NULL, "ciphertext" text NOT NULL, "escrowed_at" TIMESTAMP WITH TIME ZONE NOT NULL, CONSTRAINT "chk_backup_escrows_ciphertext" CHECK (length("ciphertext") <= 4096), CONSTRAINT "pk_backup_escrows" PRIMARY KEY ("device_id"))`,
    );
    await queryRunner.query(
      `CREATE TABLE "backup_transfer_keys" ("device_id" uuid NOT NULL, "recipient" text NOT NULL, "reported_at" TIMESTAMP WITH TIME ZONE NOT NULL, CONSTRAINT "pk_backup_transfer_keys" PRIMARY KEY ("device_id"))`,
    );
    await queryRunner.query(
      `ALTER TABLE "backup_escrows" ADD CONSTRAINT "fk_backup_escrows_device" FOREIGN KEY ("device_id") REFERENCES "devices"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "backup_transfer_keys" ADD CONSTRAINT "fk_backup_transfer_keys_device" FOREIGN KEY ("device_id") REFERENCES "devices"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "backup_transfer_keys"`);
    await queryRunner.query(`DROP TABLE "backup_escrows"`);
    await queryRunner.query(`DROP TABLE "backup_recovery_key"`);
  }
}
