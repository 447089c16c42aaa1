import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Scanner operations (issue 19): each site's feed update schedule, and the feed updates it
 * scheduled, one row per scanner and slot (the worker may run twice or restart without queueing
 * a slot twice; api/src/scanners/feed-schedule.service.ts).
 */
export class ScannerOps1795640000000 implements MigrationInterface {
  name = 'ScannerOps1795640000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "scanner_feed_schedules" ("site_id" uuid NOT NULL, "enabled" boolean NOT NULL, "weekdays" smallint array NOT NULL, "hour_utc" smallint NOT NULL, "jitter_minutes" smallint NOT NULL, "prune_old_images" boolean NOT NULL, "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL, "updated_by" text NOT NULL, CONSTRAINT "chk_scanner_feed_schedules_jitter" CHECK ("jitter_minutes" BETWEEN 0 AND 240), CONSTRAINT "chk_scanner_feed_schedules_hour" CHECK ("hour_utc" BETWEEN 0 AND 23), CONSTRAINT "pk_scanner_feed_schedules" PRIMARY KEY ("site_id"))`,
    );
    await queryRunner.query(
      `CREATE TABLE "scanner_feed_runs" ("id" uuid NOT NULL, "device_id" uuid NOT NULL, "slot_at" TIMESTAMP WITH TIME ZONE NOT NULL, "due_at" TIMESTAMP WITH TIME ZONE NOT NULL, "prune_old_images" boolean NOT NULL, "command_id" uuid, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL, CONSTRAINT "uq_scanner_feed_runs_slot" UNIQUE ("device_id", "slot_at"), CONSTRAINT "pk_scanner_feed_runs" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(
      `ALTER TABLE "scanner_feed_schedules" ADD CONSTRAINT "fk_scanner_feed_schedules_site" FOREIGN KEY ("site_id") REFERENCES "sites"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "scanner_feed_runs" ADD CONSTRAINT "fk_scanner_feed_runs_device" FOREIGN KEY ("device_id") REFERENCES "devices"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "scanner_feed_runs" DROP CONSTRAINT "fk_scanner_feed_runs_device"`);
    await queryRunner.query(`ALTER TABLE "scanner_feed_schedules" DROP CONSTRAINT "fk_scanner_feed_schedules_site"`);
    await queryRunner.query(`DROP TABLE "scanner_feed_runs"`);
    await queryRunner.query(`DROP TABLE "scanner_feed_schedules"`);
  }
}
