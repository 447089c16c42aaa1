import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Scanner operations (api/src/scanners): each scanner's latest GMP report, with the columns the fleet view reads. */
export class ScannerSnapshots1795600000000 implements MigrationInterface {
  name = 'ScannerSnapshots1795600000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "scanner_snapshots" ("device_id" uuid NOT NULL, "collected_at" TIMESTAMP WITH TIME ZONE NOT NULL, "received_at" TIMESTAMP WITH TIME ZONE NOT NULL, "gmp_reachable" boolean NOT NULL, "gmp_error" text, "nvt_feed_version" text, "feeds_syncing" boolean NOT NULL, "tasks_running" integer NOT NULL, "tasks_queued" integer NOT NULL, "stats" jsonb NOT NULL, CONSTRAINT "pk_scanner_snapshots" PRIMARY KEY ("device_id"))`,
    );
    await queryRunner.query(
      `ALTER TABLE "scanner_snapshots" ADD CONSTRAINT "fk_scanner_snapshots_device" FOREIGN KEY ("device_id") REFERENCES "devices"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "scanner_snapshots"`);
  }
}
