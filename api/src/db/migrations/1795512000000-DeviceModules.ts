import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What each device's agent runs (docker, scanner, backups), stored per device so it can be
 * changed per device; existing rows get the defaults of their type (api/src/devices/device-modules.ts).
 */
export class DeviceModules1795512000000 implements MigrationInterface {
  name = 'DeviceModules1795512000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "devices" ADD "modules" jsonb NOT NULL DEFAULT '{}'`);
    await queryRunner.query(
      `UPDATE "devices" SET "modules" = jsonb_build_object('docker', true, 'scanner', "type" = 'scanner', 'backups', 'off')`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "devices" DROP COLUMN "modules"`);
  }
}
