import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The built-in scanner rules' ids: UUIDv5 (URL namespace) of `xspectre:alert-rule:<key>`, so every install has the same. */
const RULE_IDS = `'375a95ca-acc2-5a9e-a9d1-e052a1f2fd02', 'fb02b6a1-3f22-5740-9033-ba4b943f7513', 'a027c5c5-4a24-5e73-aea5-d0e6bbaa98bd', '00001758-aa4f-559c-bb3f-2fe72fe6d088', '6b01a3bd-d6ce-5103-85cc-98fe0c1d583d', 'b1df3714-acf0-5f8f-a427-fa62b1bfd286', 'd5024779-8932-587c-9147-08a981cb9ca9', '280eb5aa-2328-5be0-b117-4522212b12fd', '224ec9f1-0eea-5f8d-8c50-d4b1cdcb0826', '4db890aa-5ca9-5289-ae6e-17c180c33b65', 'ee1a4497-5a8b-560f-95bc-f78e949eed7b', 'b4f852d7-b566-5b44-bd10-4d36940dd309', '5c8d63ce-cb17-5bfd-9dbb-def3b59cd46e', '7e303bca-26b6-5c21-9eae-2ecf067f0e08', '4fd4c2ad-4bbe-5415-be8d-2f13b89390d6', '9f30e5b1-6726-5df7-a84d-ac3c99803991', '523f9275-4888-5a21-8da8-a592e6a6cfe0', 'e373e6d7-07b7-5e85-81c5-a1a70239d1ef', 'cd387113-4d4b-5c61-bdcc-c60c247d167f', '41c437f4-e2d9-5d86-915b-7310f3492121', '8f9d7bc5-a542-5248-8ed1-597fec2e7514', 'ed0694a7-a2ba-5335-9491-897732e534a7', '14c1c102-d3d5-5559-9df9-02614f4303f1', 'b35f96c7-a0af-5d9d-94f9-cacca24f8791', '697b88ba-78a9-5773-ab47-10c1d7919e1a', 'f730e396-f38d-5a29-b480-c817c5611c01'`;

/**
 * Scanner alert rules (issue 19; api/src/scanners/scanner-checks.ts judges them): what the checks
 * need beyond the latest report (successive GMP-unreachable reports, since when each feed syncs,
 * the first report's time, each core service's image behind the fleet since when, each task's
 * expected scheduled run, hourly samples of Docker's data filesystem for a week) and the
 * built-in rules, global; per-site defaults are site-scoped rules of the same keys.
 */
export class ScannerAlerts1795630000000 implements MigrationInterface {
  name = 'ScannerAlerts1795630000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "scanner_snapshots" ADD "gmp_unreachable_polls" integer NOT NULL DEFAULT '0'`);
    await queryRunner.query(`ALTER TABLE "scanner_snapshots" ADD "gmp_unreachable_since" TIMESTAMP WITH TIME ZONE`);
    await queryRunner.query(`ALTER TABLE "scanner_snapshots" ADD "first_collected_at" TIMESTAMP WITH TIME ZONE`);
    // Reports stored before this migration: the oldest time known is the latest report's.
    await queryRunner.query(`UPDATE "scanner_snapshots" SET "first_collected_at" = "collected_at"`);
    await queryRunner.query(`ALTER TABLE "scanner_snapshots" ALTER COLUMN "first_collected_at" SET NOT NULL`);
    await queryRunner.query(`ALTER TABLE "scanner_snapshots" ADD "syncing_since" jsonb NOT NULL DEFAULT '{}'`);
    await queryRunner.query(`ALTER TABLE "scanner_snapshots" ADD "versions_behind" jsonb NOT NULL DEFAULT '{}'`);
    await queryRunner.query(`ALTER TABLE "scanner_task_states" ADD "expected_run_at" TIMESTAMP WITH TIME ZONE`);
    await queryRunner.query(
      `CREATE TABLE "scanner_docker_samples" ("device_id" uuid NOT NULL, "hour" TIMESTAMP WITH TIME ZONE NOT NULL, "at" TIMESTAMP WITH TIME ZONE NOT NULL, "used_bytes" bigint NOT NULL, "total_bytes" bigint NOT NULL, CONSTRAINT "pk_scanner_docker_samples" PRIMARY KEY ("device_id", "hour"))`,
    );
    await queryRunner.query(
      `ALTER TABLE "scanner_docker_samples" ADD CONSTRAINT "fk_scanner_docker_samples_device" FOREIGN KEY ("device_id") REFERENCES "devices"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `INSERT INTO "alert_rules" ("id", "key", "name", "kind", "params", "severity", "enabled", "scope_kind", "scope_ref", "built_in", "created_at", "updated_at") VALUES
('375a95ca-acc2-5a9e-a9d1-e052a1f2fd02', 'scanner-nvt-feed-warning', 'NVT feed stale', 'scanner', '{"check":"nvt_feed_age","threshold":72}', 'warning', true, 'global', '', true, now(), now()),
        ('fb02b6a1-3f22-5740-9033-ba4b943f7513', 'scanner-nvt-feed-critical', 'NVT feed very stale', 'scanner', '{"check":"nvt_feed_age","threshold":168}', 'critical', true, 'global', '', true, now(), now()),
        ('a027c5c5-4a24-5e73-aea5-d0e6bbaa98bd', 'scanner-scap-feed-warning', 'SCAP feed stale', 'scanner', '{"check":"scap_feed_age","threshold":168}', 'warning', true, 'global', '', true, now(), now()),
        ('00001758-aa4f-559c-bb3f-2fe72fe6d088', 'scanner-scap-feed-critical', 'SCAP feed very stale', 'scanner', '{"check":"scap_feed_age","threshold":336}', 'critical', true, 'global', '', true, now(), now()),
        ('6b01a3bd-d6ce-5103-85cc-98fe0c1d583d', 'scanner-cert-feed-warning', 'CERT feed stale', 'scanner', '{"check":"cert_feed_age","threshold":168}', 'warning', true, 'global', '', true, now(), now()),
        ('b1df3714-acf0-5f8f-a427-fa62b1bfd286', 'scanner-cert-feed-critical', 'CERT feed very stale', 'scanner', '{"check":"cert_feed_age","threshold":336}', 'critical', true, 'global', '', true, now(), now()),
        ('d5024779-8932-587c-9147-08a981cb9ca9', 'scanner-feed-syncing-warning', 'Feed sync taking long', 'scanner', '{"check":"feed_syncing","threshold":2}', 'warning', true, 'global', '', true, now(), now()),
        ('280eb5aa-2328-5be0-b117-4522212b12fd', 'scanner-feed-syncing-critical', 'Feed sync stuck', 'scanner', '{"check":"feed_syncing","threshold":6}', 'critical', true, 'global', '', true, now(), now()),
        ('224ec9f1-0eea-5f8d-8c50-d4b1cdcb0826', 'scanner-down', 'Scanner daemon not available', 'scanner', '{"check":"scanner_down"}', 'critical', true, 'global', '', true, now(), now()),
        ('4db890aa-5ca9-5289-ae6e-17c180c33b65', 'scanner-gmp-unreachable', 'GMP unreachable', 'scanner', '{"check":"gmp_unreachable","threshold":3}', 'critical', true, 'global', '', true, now(), now()),
        ('ee1a4497-5a8b-560f-95bc-f78e949eed7b', 'scanner-gmp-auth-failed', 'GMP authentication failing', 'scanner', '{"check":"gmp_auth_failed"}', 'warning', true, 'global', '', true, now(), now()),
        ('b4f852d7-b566-5b44-bd10-4d36940dd309', 'scanner-core-container-missing', 'Greenbone core container missing', 'scanner', '{"check":"core_container_missing"}', 'critical', true, 'global', '', true, now(), now()),
        ('5c8d63ce-cb17-5bfd-9dbb-def3b59cd46e', 'scanner-core-container-oom', 'Greenbone container OOM-killed', 'scanner', '{"check":"core_container_oom","threshold":60}', 'warning', true, 'global', '', true, now(), now()),
        ('7e303bca-26b6-5c21-9eae-2ecf067f0e08', 'scanner-redis-memory-warning', 'Redis memory high', 'scanner', '{"check":"redis_memory","threshold":50}', 'warning', true, 'global', '', true, now(), now()),
        ('4fd4c2ad-4bbe-5415-be8d-2f13b89390d6', 'scanner-redis-memory-critical', 'Redis memory very high', 'scanner', '{"check":"redis_memory","threshold":75}', 'critical', true, 'global', '', true, now(), now()),
        ('9f30e5b1-6726-5df7-a84d-ac3c99803991', 'scanner-task-requested-warning', 'Scan stuck in Requested', 'scanner', '{"check":"task_requested","threshold":15}', 'warning', true, 'global', '', true, now(), now()),
        ('523f9275-4888-5a21-8da8-a592e6a6cfe0', 'scanner-task-requested-critical', 'Scan stuck in Requested for long', 'scanner', '{"check":"task_requested","threshold":60}', 'critical', true, 'global', '', true, now(), now()),
        ('e373e6d7-07b7-5e85-81c5-a1a70239d1ef', 'scanner-task-frozen', 'Scan progress frozen', 'scanner', '{"check":"task_frozen","threshold":2}', 'warning', true, 'global', '', true, now(), now()),
        ('cd387113-4d4b-5c61-bdcc-c60c247d167f', 'scanner-task-interrupted', 'Scan interrupted', 'scanner', '{"check":"task_interrupted"}', 'warning', true, 'global', '', true, now(), now()),
        ('41c437f4-e2d9-5d86-915b-7310f3492121', 'scanner-task-run-missed', 'Scheduled scan missed', 'scanner', '{"check":"task_run_missed","threshold":30}', 'warning', true, 'global', '', true, now(), now()),
        ('8f9d7bc5-a542-5248-8ed1-597fec2e7514', 'scanner-no-finished-scan', 'No scan finished', 'scanner', '{"check":"no_finished_scan","threshold":8}', 'warning', true, 'global', '', true, now(), now()),
        ('ed0694a7-a2ba-5335-9491-897732e534a7', 'scanner-docker-data-warning', 'Docker data filesystem filling', 'scanner', '{"check":"docker_data_used","threshold":80}', 'warning', true, 'global', '', true, now(), now()),
        ('14c1c102-d3d5-5559-9df9-02614f4303f1', 'scanner-docker-data-critical', 'Docker data filesystem almost full', 'scanner', '{"check":"docker_data_used","threshold":90}', 'critical', true, 'global', '', true, now(), now()),
        ('b35f96c7-a0af-5d9d-94f9-cacca24f8791', 'scanner-docker-data-full-soon', 'Docker data filesystem full soon', 'scanner', '{"check":"docker_data_full_in","threshold":14}', 'warning', true, 'global', '', true, now(), now()),
        ('697b88ba-78a9-5773-ab47-10c1d7919e1a', 'scanner-version-drift', 'Greenbone versions behind the fleet', 'scanner', '{"check":"version_drift","threshold":14}', 'info', true, 'global', '', true, now(), now()),
        ('f730e396-f38d-5a29-b480-c817c5611c01', 'scanner-default-admin-password', 'Greenbone default admin password in place', 'scanner', '{"check":"default_admin_password"}', 'critical', true, 'global', '', true, now(), now())`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DELETE FROM "alert_rules" WHERE "id" IN (${RULE_IDS})`);
    await queryRunner.query(`DROP TABLE "scanner_docker_samples"`);
    await queryRunner.query(`ALTER TABLE "scanner_task_states" DROP COLUMN "expected_run_at"`);
    await queryRunner.query(`ALTER TABLE "scanner_snapshots" DROP COLUMN "versions_behind"`);
    await queryRunner.query(`ALTER TABLE "scanner_snapshots" DROP COLUMN "syncing_since"`);
    await queryRunner.query(`ALTER TABLE "scanner_snapshots" DROP COLUMN "first_collected_at"`);
    await queryRunner.query(`ALTER TABLE "scanner_snapshots" DROP COLUMN "gmp_unreachable_since"`);
    await queryRunner.query(`ALTER TABLE "scanner_snapshots" DROP COLUMN "gmp_unreachable_polls"`);
  }
}
