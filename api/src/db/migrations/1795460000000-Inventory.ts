import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Inventory versions (the hardware change history), device events (an outbox the alert engine
 * reads) and the fingerprint quarantine. The installation salt is kept so the fingerprint can
 * be recomputed from later inventory reports.
 */
export class Inventory1795460000000 implements MigrationInterface {
  name = 'Inventory1795460000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "device_inventory_versions" ("id" BIGSERIAL NOT NULL, "device_id" uuid NOT NULL, "version" integer NOT NULL, "sequence" bigint NOT NULL, "reported_at" TIMESTAMP WITH TIME ZONE NOT NULL, "hash" text NOT NULL, "inventory" jsonb NOT NULL, "fingerprint_matches" boolean, "changes" jsonb NOT NULL DEFAULT '[]', CONSTRAINT "uq_device_inventory_versions_device_version" UNIQUE ("device_id", "version"), CONSTRAINT "PK_a10c40b128482cc91395c362134" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(
      `CREATE TABLE "device_events" ("id" BIGSERIAL NOT NULL, "device_id" uuid NOT NULL, "type" text NOT NULL, "severity" text NOT NULL, "at" TIMESTAMP WITH TIME ZONE NOT NULL, "details" jsonb NOT NULL DEFAULT '{}', CONSTRAINT "chk_device_events_severity" CHECK ("severity" IN ('info', 'warning', 'critical')), CONSTRAINT "chk_device_events_type" CHECK ("type" IN ('fingerprint.changed', 'fingerprint.accepted', 'hardware.changed', 'journal.gap')), CONSTRAINT "PK_808a12fa2283a05c70277d1bfd7" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE INDEX "ix_device_events_device_at" ON "device_events"  ("device_id", "at") `);
    await queryRunner.query(`ALTER TABLE "devices" ADD "installation_salt" text`);
    await queryRunner.query(`ALTER TABLE "devices" ADD "quarantined_at" TIMESTAMP WITH TIME ZONE`);
    await queryRunner.query(`ALTER TABLE "devices" ADD "quarantine_reason" text`);
    await queryRunner.query(
      `ALTER TABLE "device_inventory_versions" ADD CONSTRAINT "fk_device_inventory_versions_device" FOREIGN KEY ("device_id") REFERENCES "devices"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "device_events" ADD CONSTRAINT "fk_device_events_device" FOREIGN KEY ("device_id") REFERENCES "devices"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "device_events" DROP CONSTRAINT "fk_device_events_device"`);
    await queryRunner.query(`ALTER TABLE "device_inventory_versions" DROP CONSTRAINT "fk_device_inventory_versions_device"`);
    await queryRunner.query(`ALTER TABLE "devices" DROP COLUMN "quarantine_reason"`);
    await queryRunner.query(`ALTER TABLE "devices" DROP COLUMN "quarantined_at"`);
    await queryRunner.query(`ALTER TABLE "devices" DROP COLUMN "installation_salt"`);
    await queryRunner.query(`DROP INDEX "public"."ix_device_events_device_at"`);
    await queryRunner.query(`DROP TABLE "device_events"`);
    await queryRunner.query(`DROP TABLE "device_inventory_versions"`);
  }
}
