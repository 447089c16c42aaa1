import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Storage settings for the rows every heartbeat rewrites. The latest telemetry documents are
 * compressed with lz4 (far cheaper than the default pglz at fleet rate), and both hot tables
 * leave room on each page so their updates stay HOT (no index writes, no page splits).
 */
export class IngestTuning1795470000000 implements MigrationInterface {
  name = 'IngestTuning1795470000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const rows: Array<{ lz4: boolean }> = await queryRunner.query(
      `SELECT 'lz4' = ANY(enumvals) AS lz4 FROM pg_settings WHERE name = 'default_toast_compression'`,
    );
    if (rows[0]?.lz4) {
      await queryRunner.query(
        `ALTER TABLE "device_telemetry" ALTER COLUMN "metrics" SET COMPRESSION lz4, ALTER COLUMN "services" SET COMPRESSION lz4, ALTER COLUMN "docker" SET COMPRESSION lz4`,
      );
    }
    await queryRunner.query(`ALTER TABLE "device_telemetry" SET (fillfactor = 50)`);
    await queryRunner.query(`ALTER TABLE "devices" SET (fillfactor = 70)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "devices" RESET (fillfactor)`);
    await queryRunner.query(`ALTER TABLE "device_telemetry" RESET (fillfactor)`);
    await queryRunner.query(
      `ALTER TABLE "device_telemetry" ALTER COLUMN "metrics" SET COMPRESSION DEFAULT, ALTER COLUMN "services" SET COMPRESSION DEFAULT, ALTER COLUMN "docker" SET COMPRESSION DEFAULT`,
    );
  }
}
