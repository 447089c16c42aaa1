import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Devices, their claim codes, overlay address leases, and heartbeats (idempotent on device + sequence). */
export class Devices1795430000000 implements MigrationInterface {
  name = 'Devices1795430000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "devices" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "name" text NOT NULL, "organization_id" uuid NOT NULL, "site_id" uuid NOT NULL, "type" text NOT NULL, "status" text NOT NULL DEFAULT 'pending', "hostname" text, "agent_version" text, "fingerprint" text, "hardware" jsonb, "local_ips" jsonb, "macs" jsonb, "wg_public_key" text, "ssh_host_key" text, "overlay_address" text, "credential_hash" text, "enrolled_at" TIMESTAMP WITH TIME ZONE, "last_heartbeat_at" TIMESTAMP WITH TIME ZONE, "last_sequence" bigint, "last_handshake_at" TIMESTAMP WITH TIME ZONE, "rx_bytes" bigint NOT NULL DEFAULT '0', "tx_bytes" bigint NOT NULL DEFAULT '0', "tunnel_endpoint" text, "revoked_at" TIMESTAMP WITH TIME ZONE, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "uq_devices_credential_hash" UNIQUE ("credential_hash"), CONSTRAINT "uq_devices_wg_public_key" UNIQUE ("wg_public_key"), CONSTRAINT "uq_devices_overlay_address" UNIQUE ("overlay_address"), CONSTRAINT "chk_devices_status" CHECK ("status" IN ('pending', 'active', 'revoked', 'retired')), CONSTRAINT "chk_devices_type" CHECK ("type" IN ('scanner', 'server')), CONSTRAINT "PK_b1514758245c12daf43486dd1f0" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE INDEX "ix_devices_site" ON "devices"  ("site_id") `);
    await queryRunner.query(`CREATE INDEX "ix_devices_organization" ON "devices"  ("organization_id") `);
    await queryRunner.query(
      `CREATE TABLE "claim_codes" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "device_id" uuid NOT NULL, "code_hash" text NOT NULL, "created_by" uuid, "expires_at" TIMESTAMP WITH TIME ZONE NOT NULL, "used_at" TIMESTAMP WITH TIME ZONE, "used_from_ip" text, "revoked_at" TIMESTAMP WITH TIME ZONE, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "uq_claim_codes_hash" UNIQUE ("code_hash"), CONSTRAINT "PK_9c9e86014203a9d9370e1cfa9d2" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE INDEX "ix_claim_codes_device" ON "claim_codes"  ("device_id") `);
    await queryRunner.query(
      `CREATE TABLE "overlay_leases" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "address" text NOT NULL, "device_id" uuid NOT NULL, "pool" text NOT NULL, "allocated_at" TIMESTAMP WITH TIME ZONE NOT NULL, "released_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "PK_36970ab7d70a9c953f5e9f2c63c" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE INDEX "ix_overlay_leases_device" ON "overlay_leases"  ("device_id") `);
    await queryRunner.query(
      `CREATE TABLE "device_heartbeats" ("device_id" uuid NOT NULL, "sequence" bigint NOT NULL, "sent_at" TIMESTAMP WITH TIME ZONE NOT NULL, "received_at" TIMESTAMP WITH TIME ZONE NOT NULL, "uptime_seconds" double precision NOT NULL, "agent_version" text NOT NULL, CONSTRAINT "PK_80e0781afb4faf1b3fbbcad475e" PRIMARY KEY ("device_id", "sequence"))`,
    );
    await queryRunner.query(
      `ALTER TABLE "devices" ADD CONSTRAINT "fk_devices_organization" FOREIGN KEY ("organization_id") REFERENCES "organizations"("id") ON DELETE RESTRICT ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "devices" ADD CONSTRAINT "fk_devices_site" FOREIGN KEY ("site_id") REFERENCES "sites"("id") ON DELETE RESTRICT ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "claim_codes" ADD CONSTRAINT "fk_claim_codes_device" FOREIGN KEY ("device_id") REFERENCES "devices"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "overlay_leases" ADD CONSTRAINT "fk_overlay_leases_device" FOREIGN KEY ("device_id") REFERENCES "devices"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "device_heartbeats" ADD CONSTRAINT "fk_device_heartbeats_device" FOREIGN KEY ("device_id") REFERENCES "devices"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(`CREATE UNIQUE INDEX "uq_devices_organization_name_lower" ON "devices" ("organization_id", lower("name"))`);
    await queryRunner.query(
      `CREATE UNIQUE INDEX "uq_overlay_leases_live_address" ON "overlay_leases" ("address") WHERE "released_at" IS NULL`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "uq_overlay_leases_live_address"`);
    await queryRunner.query(`DROP INDEX "uq_devices_organization_name_lower"`);
    await queryRunner.query(`ALTER TABLE "device_heartbeats" DROP CONSTRAINT "fk_device_heartbeats_device"`);
    await queryRunner.query(`ALTER TABLE "overlay_leases" DROP CONSTRAINT "fk_overlay_leases_device"`);
    await queryRunner.query(`ALTER TABLE "claim_codes" DROP CONSTRAINT "fk_claim_codes_device"`);
    await queryRunner.query(`ALTER TABLE "devices" DROP CONSTRAINT "fk_devices_site"`);
    await queryRunner.query(`ALTER TABLE "devices" DROP CONSTRAINT "fk_devices_organization"`);
    await queryRunner.query(`DROP TABLE "device_heartbeats"`);
    await queryRunner.query(`DROP INDEX "public"."ix_overlay_leases_device"`);
    await queryRunner.query(`DROP TABLE "overlay_leases"`);
    await queryRunner.query(`DROP INDEX "public"."ix_claim_codes_device"`);
    await queryRunner.query(`DROP TABLE "claim_codes"`);
    await queryRunner.query(`DROP INDEX "public"."ix_devices_organization"`);
    await queryRunner.query(`DROP INDEX "public"."ix_devices_site"`);
    await queryRunner.query(`DROP TABLE "devices"`);
  }
}
