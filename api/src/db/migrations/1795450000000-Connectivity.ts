import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Online/offline transitions of devices. */
export class Connectivity1795450000000 implements MigrationInterface {
  name = 'Connectivity1795450000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "device_connectivity_events" ("id" BIGSERIAL NOT NULL, "device_id" uuid NOT NULL, "state" text NOT NULL, "at" TIMESTAMP WITH TIME ZONE NOT NULL, CONSTRAINT "chk_device_connectivity_events_state" CHECK ("state" IN ('online', 'offline')), CONSTRAINT "PK_a37cb3bd2becea97fa211b7b533" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE INDEX "ix_device_connectivity_events_device_at" ON "device_connectivity_events" ("device_id", "at")`);
    await queryRunner.query(
      `ALTER TABLE "device_connectivity_events" ADD CONSTRAINT "fk_device_connectivity_events_device" FOREIGN KEY ("device_id") REFERENCES "devices"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "device_connectivity_events"`);
  }
}
