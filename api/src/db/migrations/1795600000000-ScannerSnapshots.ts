import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Scanner operations (api/src/scanners): each scanner's latest GMP report with the columns the
 * fleet view reads, and what successive reports tell: task states over time, severity counts per
 * report, feed versions as they arrived.
 */
export class ScannerSnapshots1795600000000 implements MigrationInterface {
  name = 'ScannerSnapshots1795600000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "scanner_snapshots" ("device_id" uuid NOT NULL, "collected_at" TIMESTAMP WITH TIME ZONE NOT NULL, "received_at" TIMESTAMP WITH TIME ZONE NOT NULL, "gmp_reachable" boolean NOT NULL, "gmp_error" text, "nvt_feed_version" text, "feeds_syncing" boolean NOT NULL, "tasks_running" integer NOT NULL, "tasks_queued" integer NOT NULL, "stats" jsonb NOT NULL, CONSTRAINT "pk_scanner_snapshots" PRIMARY KEY ("device_id"))`,
    );
    await queryRunner.query(
      `ALTER TABLE "scanner_snapshots" ADD CONSTRAINT "fk_scanner_snapshots_device" FOREIGN KEY ("device_id") REFERENCES "devices"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `CREATE TABLE "scanner_task_states" ("device_id" uuid NOT NULL, "task_id" text NOT NULL, "status" text NOT NULL, "status_since" TIMESTAMP WITH TIME ZONE NOT NULL, "progress" integer, "progress_changed_at" TIMESTAMP WITH TIME ZONE NOT NULL, "last_seen_at" TIMESTAMP WITH TIME ZONE NOT NULL, CONSTRAINT "pk_scanner_task_states" PRIMARY KEY ("device_id", "task_id"))`,
    );
    await queryRunner.query(
      `CREATE TABLE "scanner_report_counts" ("device_id" uuid NOT NULL, "report_id" text NOT NULL, "task_id" text NOT NULL, "scan_ended_at" TIMESTAMP WITH TIME ZONE, "counts" jsonb NOT NULL, "error_count" integer, CONSTRAINT "pk_scanner_report_counts" PRIMARY KEY ("device_id", "report_id"))`,
    );
    await queryRunner.query(
      `CREATE INDEX "ix_scanner_report_counts_device_ended" ON "scanner_report_counts" ("device_id", "scan_ended_at")`,
    );
    await queryRunner.query(
      `CREATE TABLE "scanner_feed_versions" ("device_id" uuid NOT NULL, "feed_type" text NOT NULL, "version" text NOT NULL, "first_seen_at" TIMESTAMP WITH TIME ZONE NOT NULL, CONSTRAINT "pk_scanner_feed_versions" PRIMARY KEY ("device_id", "feed_type", "version"))`,
    );
    await queryRunner.query(
      `ALTER TABLE "scanner_task_states" ADD CONSTRAINT "fk_scanner_task_states_device" FOREIGN KEY ("device_id") REFERENCES "devices"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "scanner_report_counts" ADD CONSTRAINT "fk_scanner_report_counts_device" FOREIGN KEY ("device_id") REFERENCES "devices"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "scanner_feed_versions" ADD CONSTRAINT "fk_scanner_feed_versions_device" FOREIGN KEY ("device_id") REFERENCES "devices"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "scanner_feed_versions"`);
    await queryRunner.query(`DROP TABLE "scanner_report_counts"`);
    await queryRunner.query(`DROP TABLE "scanner_task_states"`);
    await queryRunner.query(`DROP TABLE "scanner_snapshots"`);
  }
}
