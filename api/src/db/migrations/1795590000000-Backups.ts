import type { MigrationInterface, QueryRunner } from 'typeorm';

const EVENTS_BEFORE = `'fingerprint.changed', 'fingerprint.accepted', 'hardware.changed', 'journal.gap', 'device.enrolled', 'device.revoked', 'device.retired'`;
const EVENTS_AFTER = `${EVENTS_BEFORE}, 'backup.failed', 'backup.succeeded'`;

/**
 * File backups (api/src/backups): per-device policies where they differ from the defaults, runs
 * (one per device, kind and device-local slot date: uq_backup_runs_slot), the backup servers'
 * capacity reports; and service credentials (api/src/auth), with which the backup server reports.
 * Device events backup.failed / backup.succeeded, and the built-in rule that alerts on the first
 * and resolves by the second.
 */
export class Backups1795590000000 implements MigrationInterface {
  name = 'Backups1795590000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "backup_policies" ("device_id" uuid NOT NULL, "paths" text array NOT NULL, "excludes" text array NOT NULL, "local_time" text NOT NULL, "keep_daily" integer NOT NULL, "keep_weekly" integer NOT NULL, "updated_by" text NOT NULL, "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL, CONSTRAINT "chk_backup_policies_keep" CHECK ("keep_daily" BETWEEN 1 AND 365 AND "keep_weekly" BETWEEN 0 AND 104), CONSTRAINT "chk_backup_policies_local_time" CHECK ("local_time" ~ '^([01][0-9]|2[0-3]):[0-5][0-9]$'), CONSTRAINT "pk_backup_policies" PRIMARY KEY ("device_id"))`,
    );
    await queryRunner.query(
      `CREATE TABLE "backup_runs" ("id" uuid NOT NULL, "device_id" uuid NOT NULL, "kind" text NOT NULL, "slot_date" date, "due_at" TIMESTAMP WITH TIME ZONE NOT NULL, "status" text NOT NULL, "started_at" TIMESTAMP WITH TIME ZONE, "finished_at" TIMESTAMP WITH TIME ZONE, "error" text, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL, "command_id" uuid, "request" jsonb, "requested_by" text, "summary" jsonb, CONSTRAINT "uq_backup_runs_slot" UNIQUE ("device_id", "kind", "slot_date"), CONSTRAINT "chk_backup_runs_status" CHECK ("status" IN ('scheduled', 'running', 'succeeded', 'failed', 'missed')), CONSTRAINT "chk_backup_runs_kind" CHECK ("kind" IN ('backup', 'check', 'restore')), CONSTRAINT "pk_backup_runs" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE INDEX "ix_backup_runs_device_created" ON "backup_runs" ("device_id", "created_at")`);
    await queryRunner.query(
      `CREATE INDEX "ix_backup_runs_due" ON "backup_runs" ("device_id") WHERE "status" = 'scheduled' AND "command_id" IS NULL`,
    );
    await queryRunner.query(
      `ALTER TABLE "backup_policies" ADD CONSTRAINT "fk_backup_policies_device" FOREIGN KEY ("device_id") REFERENCES "devices"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "backup_runs" ADD CONSTRAINT "fk_backup_runs_device" FOREIGN KEY ("device_id") REFERENCES "devices"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `CREATE TABLE "backup_server_reports" ("credential_id" uuid NOT NULL, "server_name" text NOT NULL, "received_at" TIMESTAMP WITH TIME ZONE NOT NULL, "generated_at" TIMESTAMP WITH TIME ZONE NOT NULL, "store" text NOT NULL, "pool" jsonb NOT NULL, "last_scrub" jsonb, CONSTRAINT "chk_backup_server_reports_store" CHECK ("store" IN ('zfs', 'directory')), CONSTRAINT "pk_backup_server_reports" PRIMARY KEY ("credential_id"))`,
    );
    await queryRunner.query(
      `CREATE TABLE "backup_device_usage" ("device_id" uuid NOT NULL, "credential_id" uuid NOT NULL, "used_bytes" bigint NOT NULL, "quota_bytes" bigint, "snapshot_count" integer NOT NULL, "reported_at" TIMESTAMP WITH TIME ZONE NOT NULL, CONSTRAINT "pk_backup_device_usage" PRIMARY KEY ("device_id"))`,
    );
    await queryRunner.query(
      `ALTER TABLE "backup_device_usage" ADD CONSTRAINT "fk_backup_device_usage_device" FOREIGN KEY ("device_id") REFERENCES "devices"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `CREATE TABLE "service_credentials" ("id" uuid NOT NULL, "service" text NOT NULL, "name" text NOT NULL, "secret_hash" text NOT NULL, "created_by" text NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL, "revoked_at" TIMESTAMP WITH TIME ZONE, "last_used_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "uq_service_credentials_secret_hash" UNIQUE ("secret_hash"), CONSTRAINT "chk_service_credentials_service" CHECK ("service" IN ('backup-server')), CONSTRAINT "pk_service_credentials" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`ALTER TABLE "device_events" DROP CONSTRAINT "chk_device_events_type"`);
    await queryRunner.query(`ALTER TABLE "device_events" ADD CONSTRAINT "chk_device_events_type" CHECK ("type" IN (${EVENTS_AFTER}))`);
    await queryRunner.query(
      `INSERT INTO "alert_rules" ("id", "key", "name", "kind", "params", "severity", "enabled", "scope_kind", "scope_ref", "built_in", "created_at", "updated_at") VALUES
        ('715a07ea-7f0a-51c9-89b9-4ce33cd7456f', 'backup-failed', 'Backup failed', 'event', '{"eventType":"backup.failed","resolvedBy":"backup.succeeded"}', 'warning', true, 'global', '', true, now(), now())`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DELETE FROM "alert_rules" WHERE "key" = 'backup-failed'`);
    await queryRunner.query(`DELETE FROM "device_events" WHERE "type" IN ('backup.failed', 'backup.succeeded')`);
    await queryRunner.query(`ALTER TABLE "device_events" DROP CONSTRAINT "chk_device_events_type"`);
    await queryRunner.query(`ALTER TABLE "device_events" ADD CONSTRAINT "chk_device_events_type" CHECK ("type" IN (${EVENTS_BEFORE}))`);
    await queryRunner.query(`DROP TABLE "service_credentials"`);
    await queryRunner.query(`DROP TABLE "backup_device_usage"`);
    await queryRunner.query(`DROP TABLE "backup_server_reports"`);
    await queryRunner.query(`DROP TABLE "backup_runs"`);
    await queryRunner.query(`DROP TABLE "backup_policies"`);
  }
}
