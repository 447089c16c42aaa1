import type { MigrationInterface, QueryRunner } from 'typeorm';
import { addDeviceEventTypes, removeDeviceEventTypes } from './device-event-types.js';

const NEW_EVENTS = ['disk.smart_failed', 'disk.smart_ok'];

/**
 * SMART disk health (api/src/inventory/disk-health.service.ts, issue 16 item 7): the latest
 * reading per device with the disks counted as failing; the device events `disk.smart_failed` /
 * `disk.smart_ok` and the built-in critical rule `disk-smart-failed` they open and resolve.
 */
export class DiskHealth1795730000000 implements MigrationInterface {
  name = 'DiskHealth1795730000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "device_disk_health" ("device_id" uuid NOT NULL, "sequence" bigint NOT NULL, "reported_at" TIMESTAMP WITH TIME ZONE NOT NULL, "report" jsonb NOT NULL, "failing" jsonb NOT NULL DEFAULT '[]', CONSTRAINT "pk_device_disk_health" PRIMARY KEY ("device_id"))`,
    );
    await queryRunner.query(
      `ALTER TABLE "device_disk_health" ADD CONSTRAINT "fk_device_disk_health_device" FOREIGN KEY ("device_id") REFERENCES "devices"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await addDeviceEventTypes(queryRunner, NEW_EVENTS);
    await queryRunner.query(
      `INSERT INTO "alert_rules" ("id", "key", "name", "kind", "params", "severity", "enabled", "scope_kind", "scope_ref", "built_in", "created_at", "updated_at") VALUES
        ('5d0c6a2e-8f41-5b7a-a3c9-7e1f4b2d9c30', 'disk-smart-failed', 'Disk failing (SMART)', 'event', '{"eventType":"disk.smart_failed","resolvedBy":"disk.smart_ok"}', 'critical', true, 'global', '', true, now(), now())`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DELETE FROM "alert_rules" WHERE "key" = 'disk-smart-failed'`);
    await queryRunner.query(`DELETE FROM "device_events" WHERE "type" IN (${NEW_EVENTS.map((t) => `'${t}'`).join(', ')})`);
    await removeDeviceEventTypes(queryRunner, NEW_EVENTS);
    await queryRunner.query(`ALTER TABLE "device_disk_health" DROP CONSTRAINT "fk_device_disk_health_device"`);
    await queryRunner.query(`DROP TABLE "device_disk_health"`);
  }
}
