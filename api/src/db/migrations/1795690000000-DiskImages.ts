import type { MigrationInterface, QueryRunner } from 'typeorm';

const EVENTS_BEFORE = `'fingerprint.changed', 'fingerprint.accepted', 'hardware.changed', 'journal.gap', 'device.enrolled', 'device.revoked', 'device.retired', 'backup.failed', 'backup.succeeded', 'backup.overdue', 'backup.check_failed', 'backup.check_succeeded', 'backup.quota_high', 'backup.quota_ok', 'ssh.host_key_changed', 'ssh.host_key_accepted'`;
const NEW_EVENTS = `'disk_image.failed', 'disk_image.succeeded'`;
const EVENTS_AFTER = `${EVENTS_BEFORE}, ${NEW_EVENTS}`;

/**
 * Full-disk images (api/src/disk-images, issue 16): the catalog of the images the backup server
 * accepted, the take / restore jobs (one open per device), the device events for a job's end and
 * the built-in rule that alerts on a failed one until the next succeeds.
 */
export class DiskImages1795690000000 implements MigrationInterface {
  name = 'DiskImages1795690000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "disk_images" ("device_id" uuid NOT NULL, "image_name" text NOT NULL, "compressed_bytes" bigint NOT NULL, "sha256_compressed" text NOT NULL, "raw_bytes" bigint NOT NULL, "metadata" jsonb NOT NULL, "command_id" uuid, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL, "pruned_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "chk_disk_images_sha256" CHECK ("sha256_compressed" ~ '^[0-9a-f]{64}$'), CONSTRAINT "pk_disk_images" PRIMARY KEY ("device_id", "image_name"))`,
    );
    await queryRunner.query(`CREATE INDEX "ix_disk_images_device_created" ON "disk_images" ("device_id", "created_at")`);
    await queryRunner.query(
      `CREATE TABLE "disk_image_jobs" ("id" uuid NOT NULL, "device_id" uuid NOT NULL, "kind" text NOT NULL, "state" text NOT NULL, "image_name" text NOT NULL, "params" jsonb NOT NULL, "error" text, "requested_by" text NOT NULL, "reboot_command_id" uuid, "recovery_command_id" uuid, "return_command_id" uuid, "waiting_since" TIMESTAMP WITH TIME ZONE NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL, "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL, "finished_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "chk_disk_image_jobs_error" CHECK (length("error") <= 1000), CONSTRAINT "chk_disk_image_jobs_state" CHECK ("state" IN ('requested', 'booting-recovery', 'imaging', 'restoring', 'rebooting', 'succeeded', 'failed')), CONSTRAINT "chk_disk_image_jobs_kind" CHECK ("kind" IN ('image', 'restore')), CONSTRAINT "pk_disk_image_jobs" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(
      `CREATE UNIQUE INDEX "uq_disk_image_jobs_open" ON "disk_image_jobs" ("device_id") WHERE "state" NOT IN ('succeeded', 'failed')`,
    );
    await queryRunner.query(`CREATE INDEX "ix_disk_image_jobs_device_created" ON "disk_image_jobs" ("device_id", "created_at")`);
    await queryRunner.query(
      `ALTER TABLE "disk_images" ADD CONSTRAINT "fk_disk_images_device" FOREIGN KEY ("device_id") REFERENCES "devices"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "disk_image_jobs" ADD CONSTRAINT "fk_disk_image_jobs_device" FOREIGN KEY ("device_id") REFERENCES "devices"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(`ALTER TABLE "device_events" DROP CONSTRAINT "chk_device_events_type"`);
    await queryRunner.query(`ALTER TABLE "device_events" ADD CONSTRAINT "chk_device_events_type" CHECK ("type" IN (${EVENTS_AFTER}))`);
    await queryRunner.query(
      `INSERT INTO "alert_rules" ("id", "key", "name", "kind", "params", "severity", "enabled", "scope_kind", "scope_ref", "built_in", "created_at", "updated_at") VALUES
        ('0b7e4f5e-6a43-5c1f-9d5e-2f7c3a1d8e61', 'disk-image-failed', 'Full-disk image failed', 'event', '{"eventType":"disk_image.failed","resolvedBy":"disk_image.succeeded"}', 'warning', true, 'global', '', true, now(), now())`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DELETE FROM "alert_rules" WHERE "key" = 'disk-image-failed'`);
    await queryRunner.query(`DELETE FROM "device_events" WHERE "type" IN (${NEW_EVENTS})`);
    await queryRunner.query(`ALTER TABLE "device_events" DROP CONSTRAINT "chk_device_events_type"`);
    await queryRunner.query(`ALTER TABLE "device_events" ADD CONSTRAINT "chk_device_events_type" CHECK ("type" IN (${EVENTS_BEFORE}))`);
    await queryRunner.query(`ALTER TABLE "disk_image_jobs" DROP CONSTRAINT "fk_disk_image_jobs_device"`);
    await queryRunner.query(`ALTER TABLE "disk_images" DROP CONSTRAINT "fk_disk_images_device"`);
    await queryRunner.query(`DROP INDEX "public"."ix_disk_image_jobs_device_created"`);
    await queryRunner.query(`DROP INDEX "public"."uq_disk_image_jobs_open"`);
    await queryRunner.query(`DROP TABLE "disk_image_jobs"`);
    await queryRunner.query(`DROP INDEX "public"."ix_disk_images_device_created"`);
    await queryRunner.query(`DROP TABLE "disk_images"`);
  }
}
