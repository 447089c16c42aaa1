import type { MigrationInterface, QueryRunner } from 'typeorm';

const BEFORE = `'fingerprint.changed', 'fingerprint.accepted', 'hardware.changed', 'journal.gap'`;
const AFTER = `${BEFORE}, 'device.enrolled', 'device.revoked', 'device.retired'`;

/** A device's own event history also tells when it enrolled and when it was revoked or retired. */
export class DeviceLifecycleEvents1795490000000 implements MigrationInterface {
  name = 'DeviceLifecycleEvents1795490000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "device_events" DROP CONSTRAINT "chk_device_events_type"`);
    await queryRunner.query(`ALTER TABLE "device_events" ADD CONSTRAINT "chk_device_events_type" CHECK ("type" IN (${AFTER}))`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    // The audit log keeps these facts; the older schema has no place for them here.
    await queryRunner.query(`DELETE FROM "device_events" WHERE "type" IN ('device.enrolled', 'device.revoked', 'device.retired')`);
    await queryRunner.query(`ALTER TABLE "device_events" DROP CONSTRAINT "chk_device_events_type"`);
    await queryRunner.query(`ALTER TABLE "device_events" ADD CONSTRAINT "chk_device_events_type" CHECK ("type" IN (${BEFORE}))`);
  }
}
