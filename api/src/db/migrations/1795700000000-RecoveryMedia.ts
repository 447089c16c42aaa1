import type { MigrationInterface, QueryRunner } from 'typeorm';

const EVENTS_BEFORE = `'fingerprint.changed', 'fingerprint.accepted', 'hardware.changed', 'journal.gap', 'device.enrolled', 'device.revoked', 'device.retired', 'backup.failed', 'backup.succeeded', 'backup.overdue', 'backup.check_failed', 'backup.check_succeeded', 'backup.quota_high', 'backup.quota_ok', 'ssh.host_key_changed', 'ssh.host_key_accepted', 'disk_image.failed', 'disk_image.succeeded'`;
const NEW_EVENTS = `'device.recovery-mode', 'device.recovery-mode-ended'`;
const EVENTS_AFTER = `${EVENTS_BEFORE}, ${NEW_EVENTS}`;

/**
 * Recovery media (api/src/recovery, issue 16): one row per recovery stick with its own WireGuard
 * public key, overlay address and credential hash, the personalised image's hash and download
 * window, and the recovery-mode state while the stick runs; at most one active medium per device
 * (partial unique index); the device events for entering and leaving recovery mode.
 */
export class RecoveryMedia1795700000000 implements MigrationInterface {
  name = 'RecoveryMedia1795700000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "recovery_media" ("id" uuid NOT NULL, "device_id" uuid NOT NULL, "state" text NOT NULL, "wg_public_key" text NOT NULL, "overlay_address" text NOT NULL, "credential_hash" text NOT NULL, "image_sha256" text NOT NULL, "image_size_bytes" bigint NOT NULL, "download_expires_at" TIMESTAMP WITH TIME ZONE, "created_by" text NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL, "revoked_by" text, "revoked_at" TIMESTAMP WITH TIME ZONE, "last_seen_at" TIMESTAMP WITH TIME ZONE, "registered_at" TIMESTAMP WITH TIME ZONE, "boot_id" uuid, "hardware" jsonb, "agent_info" jsonb, "progress" jsonb, "progress_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "chk_recovery_media_state" CHECK ("state" IN ('active', 'revoked')), CONSTRAINT "pk_recovery_media" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE UNIQUE INDEX "uq_recovery_media_credential_hash" ON "recovery_media" ("credential_hash")`);
    await queryRunner.query(`CREATE INDEX "ix_recovery_media_device_created" ON "recovery_media" ("device_id", "created_at")`);
    await queryRunner.query(
      `CREATE UNIQUE INDEX "uq_recovery_media_active_device" ON "recovery_media" ("device_id") WHERE "state" = 'active'`,
    );
    // The heartbeat group commit asks "is any of these devices in recovery mode?": only registered rows are indexed.
    await queryRunner.query(
      `CREATE INDEX "ix_recovery_media_registered" ON "recovery_media" ("device_id") WHERE "registered_at" IS NOT NULL`,
    );
    await queryRunner.query(
      `ALTER TABLE "recovery_media" ADD CONSTRAINT "fk_recovery_media_device" FOREIGN KEY ("device_id") REFERENCES "devices"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(`ALTER TABLE "device_events" DROP CONSTRAINT "chk_device_events_type"`);
    await queryRunner.query(`ALTER TABLE "device_events" ADD CONSTRAINT "chk_device_events_type" CHECK ("type" IN (${EVENTS_AFTER}))`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DELETE FROM "device_events" WHERE "type" IN (${NEW_EVENTS})`);
    await queryRunner.query(`ALTER TABLE "device_events" DROP CONSTRAINT "chk_device_events_type"`);
    await queryRunner.query(`ALTER TABLE "device_events" ADD CONSTRAINT "chk_device_events_type" CHECK ("type" IN (${EVENTS_BEFORE}))`);
    await queryRunner.query(`ALTER TABLE "recovery_media" DROP CONSTRAINT "fk_recovery_media_device"`);
    await queryRunner.query(`DROP INDEX "public"."ix_recovery_media_registered"`);
    await queryRunner.query(`DROP INDEX "public"."uq_recovery_media_active_device"`);
    await queryRunner.query(`DROP INDEX "public"."ix_recovery_media_device_created"`);
    await queryRunner.query(`DROP INDEX "public"."uq_recovery_media_credential_hash"`);
    await queryRunner.query(`DROP TABLE "recovery_media"`);
  }
}
