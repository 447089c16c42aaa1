import type { MigrationInterface, QueryRunner } from 'typeorm';

const EVENTS_BEFORE = `'fingerprint.changed', 'fingerprint.accepted', 'hardware.changed', 'journal.gap', 'device.enrolled', 'device.revoked', 'device.retired', 'backup.failed', 'backup.succeeded'`;
const NEW_EVENTS = `'backup.overdue', 'backup.check_failed', 'backup.check_succeeded', 'backup.quota_high', 'backup.quota_ok'`;
const EVENTS_AFTER = `${EVENTS_BEFORE}, ${NEW_EVENTS}`;
const RULES = `'backup-overdue', 'backup-check-failed', 'backup-quota', 'backup-pool', 'backup-scrub-errors'`;

/**
 * The backup catalog (api/src/backups): snapshots per device synced from each run's result line,
 * a run's weekly check and live progress, and per-device state (last verified restorable, overdue
 * episode, quota above 90 %). Device events for overdue, check and quota, and the built-in rules
 * that alert on them and resolve by their counterparts; the fleet-level rules on each backup
 * server's pool (above 85 %) and scrub errors (api/src/alerts/alert-evaluator.ts).
 */
export class BackupCatalog1795610000000 implements MigrationInterface {
  name = 'BackupCatalog1795610000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "backup_snapshots" ("id" uuid NOT NULL, "device_id" uuid NOT NULL, "snapshot_id" text NOT NULL, "time" TIMESTAMP WITH TIME ZONE NOT NULL, "paths" text array, "total_bytes" bigint, "data_added_bytes" bigint, "total_files" bigint, "duration_seconds" double precision, "run_id" uuid, CONSTRAINT "uq_backup_snapshots_device_snapshot" UNIQUE ("device_id", "snapshot_id"), CONSTRAINT "pk_backup_snapshots" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE INDEX "ix_backup_snapshots_device_time" ON "backup_snapshots" ("device_id", "time")`);
    await queryRunner.query(
      `CREATE TABLE "backup_device_states" ("device_id" uuid NOT NULL, "catalog_synced_at" TIMESTAMP WITH TIME ZONE, "last_check_at" TIMESTAMP WITH TIME ZONE, "last_check_ok" boolean, "last_verified_at" TIMESTAMP WITH TIME ZONE, "overdue_since" TIMESTAMP WITH TIME ZONE, "quota_high" boolean NOT NULL DEFAULT false, CONSTRAINT "pk_backup_device_states" PRIMARY KEY ("device_id"))`,
    );
    await queryRunner.query(`ALTER TABLE "backup_runs" ADD "check" jsonb`);
    await queryRunner.query(`ALTER TABLE "backup_runs" ADD "progress" jsonb`);
    await queryRunner.query(`ALTER TABLE "backup_runs" ADD "progress_at" TIMESTAMP WITH TIME ZONE`);
    await queryRunner.query(
      `ALTER TABLE "backup_snapshots" ADD CONSTRAINT "fk_backup_snapshots_device" FOREIGN KEY ("device_id") REFERENCES "devices"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "backup_snapshots" ADD CONSTRAINT "fk_backup_snapshots_run" FOREIGN KEY ("run_id") REFERENCES "backup_runs"("id") ON DELETE SET NULL ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "backup_device_states" ADD CONSTRAINT "fk_backup_device_states_device" FOREIGN KEY ("device_id") REFERENCES "devices"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(`ALTER TABLE "device_events" DROP CONSTRAINT "chk_device_events_type"`);
    await queryRunner.query(`ALTER TABLE "device_events" ADD CONSTRAINT "chk_device_events_type" CHECK ("type" IN (${EVENTS_AFTER}))`);
    await queryRunner.query(
      `INSERT INTO "alert_rules" ("id", "key", "name", "kind", "params", "severity", "enabled", "scope_kind", "scope_ref", "built_in", "created_at", "updated_at") VALUES
        ('f58a8b64-aa08-5556-a576-b26ae2065561', 'backup-overdue', 'Backup overdue', 'event', '{"eventType":"backup.overdue","resolvedBy":"backup.succeeded"}', 'warning', true, 'global', '', true, now(), now()),
        ('89e2f596-0b08-5015-bd98-c2c0408d57cc', 'backup-check-failed', 'Backup check failed', 'event', '{"eventType":"backup.check_failed","resolvedBy":"backup.check_succeeded"}', 'critical', true, 'global', '', true, now(), now()),
        ('73fdf55f-4ddc-5967-85b0-b9f6273aa4eb', 'backup-quota', 'Backup quota above 90 %', 'event', '{"eventType":"backup.quota_high","resolvedBy":"backup.quota_ok"}', 'warning', true, 'global', '', true, now(), now()),
        ('8166740f-b589-51b4-86f4-15001e8b6716', 'backup-pool', 'Backup pool above 85 %', 'backup_pool', '{"usedPercent":85,"clearBelowPercent":80}', 'warning', true, 'global', '', true, now(), now()),
        ('71039d5c-8630-5237-b84a-5990ac08f9e5', 'backup-scrub-errors', 'Backup pool scrub found errors', 'backup_scrub', '{"minErrors":1}', 'critical', true, 'global', '', true, now(), now())`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DELETE FROM "alert_rules" WHERE "key" IN (${RULES})`);
    await queryRunner.query(`DELETE FROM "device_events" WHERE "type" IN (${NEW_EVENTS})`);
    await queryRunner.query(`ALTER TABLE "device_events" DROP CONSTRAINT "chk_device_events_type"`);
    await queryRunner.query(`ALTER TABLE "device_events" ADD CONSTRAINT "chk_device_events_type" CHECK ("type" IN (${EVENTS_BEFORE}))`);
    await queryRunner.query(`ALTER TABLE "backup_device_states" DROP CONSTRAINT "fk_backup_device_states_device"`);
    await queryRunner.query(`ALTER TABLE "backup_snapshots" DROP CONSTRAINT "fk_backup_snapshots_run"`);
    await queryRunner.query(`ALTER TABLE "backup_snapshots" DROP CONSTRAINT "fk_backup_snapshots_device"`);
    await queryRunner.query(`ALTER TABLE "backup_runs" DROP COLUMN "progress_at"`);
    await queryRunner.query(`ALTER TABLE "backup_runs" DROP COLUMN "progress"`);
    await queryRunner.query(`ALTER TABLE "backup_runs" DROP COLUMN "check"`);
    await queryRunner.query(`DROP TABLE "backup_device_states"`);
    await queryRunner.query(`DROP INDEX "public"."ix_backup_snapshots_device_time"`);
    await queryRunner.query(`DROP TABLE "backup_snapshots"`);
  }
}
