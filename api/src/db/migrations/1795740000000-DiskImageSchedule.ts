import type { MigrationInterface, QueryRunner } from 'typeorm';
import { addDeviceEventTypes, removeDeviceEventTypes } from './device-event-types.js';

const NEW_EVENT = 'disk_image.overdue';

/**
 * FULL and HYBRID backups (issue 16 item 7): the policy's weekly image day and time and the
 * images to keep, who started a disk-image job (operator or schedule), the weekly slots (one per
 * device and local date), the overdue episodes, the `disk_image.overdue` event and its built-in rule.
 */
export class DiskImageSchedule1795740000000 implements MigrationInterface {
  name = 'DiskImageSchedule1795740000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "disk_image_slots" ("device_id" uuid NOT NULL, "slot_date" date NOT NULL, "due_at" TIMESTAMP WITH TIME ZONE NOT NULL, "outcome" text NOT NULL, "job_id" uuid, "reason" text, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL, CONSTRAINT "chk_disk_image_slots_outcome" CHECK ("outcome" IN ('queued', 'skipped', 'failed')), CONSTRAINT "pk_disk_image_slots" PRIMARY KEY ("device_id", "slot_date"))`,
    );
    await queryRunner.query(
      `CREATE TABLE "disk_image_device_states" ("device_id" uuid NOT NULL, "overdue_since" TIMESTAMP WITH TIME ZONE, CONSTRAINT "pk_disk_image_device_states" PRIMARY KEY ("device_id"))`,
    );
    await queryRunner.query(`ALTER TABLE "backup_policies" ADD "image_weekday" smallint NOT NULL DEFAULT '0'`);
    await queryRunner.query(`ALTER TABLE "backup_policies" ADD "image_local_time" text NOT NULL DEFAULT '03:00'`);
    await queryRunner.query(`ALTER TABLE "backup_policies" ADD "keep_images" smallint NOT NULL DEFAULT '3'`);
    await queryRunner.query(`ALTER TABLE "disk_image_jobs" ADD "trigger" text NOT NULL DEFAULT 'operator'`);
    await queryRunner.query(
      `ALTER TABLE "backup_policies" ADD CONSTRAINT "chk_backup_policies_keep_images" CHECK ("keep_images" BETWEEN 2 AND 4)`,
    );
    await queryRunner.query(
      `ALTER TABLE "backup_policies" ADD CONSTRAINT "chk_backup_policies_image_schedule" CHECK ("image_weekday" BETWEEN 0 AND 6 AND "image_local_time" ~ '^([01][0-9]|2[0-3]):[0-5][0-9]$')`,
    );
    await queryRunner.query(
      `ALTER TABLE "disk_image_jobs" ADD CONSTRAINT "chk_disk_image_jobs_trigger" CHECK ("trigger" IN ('operator', 'schedule'))`,
    );
    await queryRunner.query(
      `ALTER TABLE "disk_image_slots" ADD CONSTRAINT "fk_disk_image_slots_device" FOREIGN KEY ("device_id") REFERENCES "devices"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "disk_image_device_states" ADD CONSTRAINT "fk_disk_image_device_states_device" FOREIGN KEY ("device_id") REFERENCES "devices"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await addDeviceEventTypes(queryRunner, [NEW_EVENT]);
    await queryRunner.query(
      `INSERT INTO "alert_rules" ("id", "key", "name", "kind", "params", "severity", "enabled", "scope_kind", "scope_ref", "built_in", "created_at", "updated_at") VALUES
        ('5d0c6a3e-8f21-5b47-a3c9-7e4b1f2d9a08', 'disk-image-overdue', 'Full-disk image overdue', 'event', '{"eventType":"disk_image.overdue","resolvedBy":"disk_image.succeeded"}', 'warning', true, 'global', '', true, now(), now())`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DELETE FROM "alert_rules" WHERE "key" = 'disk-image-overdue'`);
    await queryRunner.query(`DELETE FROM "device_events" WHERE "type" = '${NEW_EVENT}'`);
    await removeDeviceEventTypes(queryRunner, [NEW_EVENT]);
    await queryRunner.query(`ALTER TABLE "disk_image_device_states" DROP CONSTRAINT "fk_disk_image_device_states_device"`);
    await queryRunner.query(`ALTER TABLE "disk_image_slots" DROP CONSTRAINT "fk_disk_image_slots_device"`);
    await queryRunner.query(`ALTER TABLE "disk_image_jobs" DROP CONSTRAINT "chk_disk_image_jobs_trigger"`);
    await queryRunner.query(`ALTER TABLE "backup_policies" DROP CONSTRAINT "chk_backup_policies_image_schedule"`);
    await queryRunner.query(`ALTER TABLE "backup_policies" DROP CONSTRAINT "chk_backup_policies_keep_images"`);
    await queryRunner.query(`ALTER TABLE "disk_image_jobs" DROP COLUMN "trigger"`);
    await queryRunner.query(`ALTER TABLE "backup_policies" DROP COLUMN "keep_images"`);
    await queryRunner.query(`ALTER TABLE "backup_policies" DROP COLUMN "image_local_time"`);
    await queryRunner.query(`ALTER TABLE "backup_policies" DROP COLUMN "image_weekday"`);
    await queryRunner.query(`DROP TABLE "disk_image_device_states"`);
    await queryRunner.query(`DROP TABLE "disk_image_slots"`);
  }
}
