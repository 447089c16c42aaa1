import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A device's pending credential (credential.rotate): its hash, accepted beside the current one
 * until the agent's first request with it (api/src/devices/device.entity.ts).
 */
export class PendingDeviceCredential1795540000000 implements MigrationInterface {
  name = 'PendingDeviceCredential1795540000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "devices" ADD "pending_credential_hash" text`);
    await queryRunner.query(`ALTER TABLE "devices" ADD CONSTRAINT "uq_devices_pending_credential_hash" UNIQUE ("pending_credential_hash")`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "devices" DROP CONSTRAINT "uq_devices_pending_credential_hash"`);
    await queryRunner.query(`ALTER TABLE "devices" DROP COLUMN "pending_credential_hash"`);
  }
}
