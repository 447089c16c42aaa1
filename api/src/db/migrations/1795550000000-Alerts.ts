import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The alert engine (api/src/alerts) and its delivery (api/src/alert-delivery): rules with the
 * shipped defaults, breaching conditions, alerts (one unresolved per rule key, device and subject),
 * silences, the outbox cursor, delivery targets and deliveries; device_events gains the writing
 * transaction's id so the engine can read it as an outbox without skipping a late commit.
 */
export class Alerts1795550000000 implements MigrationInterface {
  name = 'Alerts1795550000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "alert_rules" ("id" uuid NOT NULL, "key" text NOT NULL, "name" text NOT NULL, "kind" text NOT NULL, "params" jsonb NOT NULL, "severity" text NOT NULL, "enabled" boolean NOT NULL, "scope_kind" text NOT NULL, "scope_ref" text NOT NULL, "built_in" boolean NOT NULL DEFAULT false, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL, "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL, CONSTRAINT "uq_alert_rules_key_scope" UNIQUE ("key", "scope_kind", "scope_ref"), CONSTRAINT "chk_alert_rules_scope_kind" CHECK ("scope_kind" IN ('global', 'device_type', 'organization', 'site', 'device')), CONSTRAINT "chk_alert_rules_severity" CHECK ("severity" IN ('info', 'warning', 'critical')), CONSTRAINT "pk_alert_rules" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(
      `CREATE TABLE "alert_conditions" ("rule_id" uuid NOT NULL, "device_id" uuid NOT NULL, "subject" text NOT NULL, "since" TIMESTAMP WITH TIME ZONE NOT NULL, "details" jsonb NOT NULL DEFAULT '{}', CONSTRAINT "pk_alert_conditions" PRIMARY KEY ("rule_id", "device_id", "subject"))`,
    );
    await queryRunner.query(
      `CREATE TABLE "alerts" ("id" uuid NOT NULL, "rule_id" uuid, "rule_key" text NOT NULL, "kind" text NOT NULL, "severity" text NOT NULL, "state" text NOT NULL, "device_id" uuid, "organization_id" uuid, "site_id" uuid, "subject" text NOT NULL, "title" text NOT NULL, "details" jsonb NOT NULL DEFAULT '{}', "silenced" boolean NOT NULL DEFAULT false, "opened_at" TIMESTAMP WITH TIME ZONE NOT NULL, "acknowledged_at" TIMESTAMP WITH TIME ZONE, "acknowledged_by" text, "acknowledge_note" text, "resolved_at" TIMESTAMP WITH TIME ZONE, "resolved_by" text, "resolution" text, "resolve_note" text, CONSTRAINT "chk_alerts_resolution" CHECK ("resolution" IS NULL OR "resolution" IN ('auto', 'manual')), CONSTRAINT "chk_alerts_severity" CHECK ("severity" IN ('info', 'warning', 'critical')), CONSTRAINT "chk_alerts_state" CHECK ("state" IN ('open', 'acknowledged', 'resolved')), CONSTRAINT "pk_alerts" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE INDEX "ix_alerts_device_opened" ON "alerts"  ("device_id", "opened_at") `);
    await queryRunner.query(`CREATE INDEX "ix_alerts_opened" ON "alerts"  ("opened_at") `);
    await queryRunner.query(
      `CREATE TABLE "alert_silences" ("id" uuid NOT NULL, "scope_kind" text NOT NULL, "scope_id" uuid NOT NULL, "starts_at" TIMESTAMP WITH TIME ZONE NOT NULL, "ends_at" TIMESTAMP WITH TIME ZONE NOT NULL, "reason" text NOT NULL, "created_by" text NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL, CONSTRAINT "chk_alert_silences_window" CHECK ("ends_at" > "starts_at"), CONSTRAINT "chk_alert_silences_scope_kind" CHECK ("scope_kind" IN ('organization', 'site', 'device')), CONSTRAINT "pk_alert_silences" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE INDEX "ix_alert_silences_ends" ON "alert_silences"  ("ends_at") `);
    await queryRunner.query(
      `CREATE TABLE "alert_outbox_cursors" ("name" text NOT NULL, "last_xid" bigint NOT NULL, "last_id" bigint NOT NULL, "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL, CONSTRAINT "pk_alert_outbox_cursors" PRIMARY KEY ("name"))`,
    );
    await queryRunner.query(
      `CREATE TABLE "alert_targets" ("id" uuid NOT NULL, "kind" text NOT NULL, "name" text NOT NULL, "enabled" boolean NOT NULL, "routing" jsonb NOT NULL, "allow_private_address" boolean NOT NULL DEFAULT false, "config" jsonb NOT NULL, "secret_sealed" text NOT NULL, "secret_hint" text NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL, "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL, CONSTRAINT "chk_alert_targets_kind" CHECK ("kind" IN ('betterstack', 'webhook')), CONSTRAINT "pk_alert_targets" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(
      `CREATE TABLE "alert_deliveries" ("id" BIGSERIAL NOT NULL, "alert_id" uuid NOT NULL, "target_id" uuid NOT NULL, "kind" text NOT NULL, "sequence" integer NOT NULL, "state" text NOT NULL, "attempts" integer NOT NULL DEFAULT '0', "last_error" text, "remote_id" text, "payload" jsonb NOT NULL, "next_attempt_at" TIMESTAMP WITH TIME ZONE, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL, "done_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "uq_alert_deliveries_sequence" UNIQUE ("alert_id", "target_id", "sequence"), CONSTRAINT "chk_alert_deliveries_state" CHECK ("state" IN ('pending', 'done', 'dead')), CONSTRAINT "chk_alert_deliveries_kind" CHECK ("kind" IN ('create', 'acknowledge', 'resolve')), CONSTRAINT "pk_alert_deliveries" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE INDEX "ix_alert_deliveries_state_next" ON "alert_deliveries"  ("state", "next_attempt_at") `);
    // pg_current_xact_id() as bigint (xid8 is 64-bit; TypeORM has no xid8 type), behind a
    // function so the column default stays a plain call.
    await queryRunner.query(
      `CREATE FUNCTION "current_xact_id_bigint"() RETURNS bigint LANGUAGE sql VOLATILE AS 'SELECT pg_current_xact_id()::text::bigint'`,
    );
    await queryRunner.query(`ALTER TABLE "device_events" ADD "xid" bigint NOT NULL DEFAULT current_xact_id_bigint()`);
    await queryRunner.query(`CREATE INDEX "ix_device_events_xid_id" ON "device_events"  ("xid", "id") `);
    await queryRunner.query(
      `ALTER TABLE "alert_conditions" ADD CONSTRAINT "fk_alert_conditions_rule" FOREIGN KEY ("rule_id") REFERENCES "alert_rules"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "alert_conditions" ADD CONSTRAINT "fk_alert_conditions_device" FOREIGN KEY ("device_id") REFERENCES "devices"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "alerts" ADD CONSTRAINT "fk_alerts_rule" FOREIGN KEY ("rule_id") REFERENCES "alert_rules"("id") ON DELETE SET NULL ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "alerts" ADD CONSTRAINT "fk_alerts_device" FOREIGN KEY ("device_id") REFERENCES "devices"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "alert_deliveries" ADD CONSTRAINT "fk_alert_deliveries_alert" FOREIGN KEY ("alert_id") REFERENCES "alerts"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "alert_deliveries" ADD CONSTRAINT "fk_alert_deliveries_target" FOREIGN KEY ("target_id") REFERENCES "alert_targets"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    // One unresolved alert per (rule key, device, subject); fleet alerts have no device.
    await queryRunner.query(
      `CREATE UNIQUE INDEX "uq_alerts_unresolved" ON "alerts" ("rule_key", COALESCE("device_id", '00000000-0000-0000-0000-000000000000'::uuid), "subject") WHERE "state" <> 'resolved'`,
    );
    // The alert list's default view and the navigation count read only unresolved alerts.
    await queryRunner.query(`CREATE INDEX "ix_alerts_unresolved" ON "alerts" ("severity", "opened_at") WHERE "state" <> 'resolved'`);
    // Events written before the engine existed are history, not news: start reading after them.
    await queryRunner.query(
      `INSERT INTO "alert_outbox_cursors" ("name", "last_xid", "last_id", "updated_at") SELECT 'device_events', COALESCE(MAX("xid"), 0), COALESCE(MAX("id"), 0), now() FROM "device_events"`,
    );
    await queryRunner.query(
      `INSERT INTO "alert_rules" ("id", "key", "name", "kind", "params", "severity", "enabled", "scope_kind", "scope_ref", "built_in", "created_at", "updated_at") VALUES
        ('b597e390-4605-5865-bf4b-02c0be1d2b36', 'cpu-high', 'CPU busy', 'metric', '{"metric":"cpu","threshold":90,"clearBelow":80,"forSeconds":300}', 'warning', true, 'global', '', true, now(), now()),
        ('a3869d36-254f-5e0b-8352-cbdb7aa0f1a8', 'memory-high', 'Memory nearly full', 'metric', '{"metric":"memory","threshold":90,"clearBelow":85,"forSeconds":300}', 'warning', true, 'global', '', true, now(), now()),
        ('6cebea4f-7b56-5603-ac22-c4cb4652a020', 'swap-high', 'Swap in heavy use', 'metric', '{"metric":"swap","threshold":80,"clearBelow":70,"forSeconds":600}', 'warning', true, 'global', '', true, now(), now()),
        ('65fcca35-b256-5f69-86c9-3d6b156e1ac8', 'load-high', 'Load average high', 'metric', '{"metric":"load5","threshold":32,"clearBelow":24,"forSeconds":600}', 'warning', false, 'global', '', true, now(), now()),
        ('69023d04-48c7-52b8-83e3-52904638355d', 'disk-high', 'Disk filling', 'metric', '{"metric":"disk","threshold":85,"clearBelow":80,"forSeconds":300}', 'warning', true, 'global', '', true, now(), now()),
        ('6f484eab-e4b9-5266-93b8-117dd4ce5194', 'disk-critical', 'Disk almost full', 'metric', '{"metric":"disk","threshold":95,"clearBelow":90,"forSeconds":120}', 'critical', true, 'global', '', true, now(), now()),
        ('1bb3b5e1-0c35-542d-8615-cfcb1e8e183a', 'inodes-high', 'Inodes nearly exhausted', 'metric', '{"metric":"inodes","threshold":90,"clearBelow":85,"forSeconds":300}', 'warning', true, 'global', '', true, now(), now()),
        ('a705f5d5-32f0-5afd-9e8e-a95503e9e796', 'unit-failed', 'systemd unit failed', 'unit', '{"condition":"failed","units":["*"],"forSeconds":60}', 'warning', true, 'global', '', true, now(), now()),
        ('1c482771-67b8-5db9-bf11-4100e86cd9e0', 'unit-not-active', 'Watched unit not active', 'unit', '{"condition":"not_active","units":["*"],"forSeconds":120}', 'warning', true, 'global', '', true, now(), now()),
        ('cf282ae5-1a04-5f53-be29-67088a7be215', 'container-not-running', 'Container not running', 'container', '{"condition":"not_running","containers":["*"],"forSeconds":120,"restarts":3,"windowSeconds":900}', 'warning', true, 'global', '', true, now(), now()),
        ('198ac674-61da-5111-8bd7-fdf957f171b3', 'container-unhealthy', 'Container unhealthy', 'container', '{"condition":"unhealthy","containers":["*"],"forSeconds":120,"restarts":3,"windowSeconds":900}', 'warning', true, 'global', '', true, now(), now()),
        ('19407a42-3ead-52f9-a083-0d605e207f06', 'container-restarting', 'Container restarting repeatedly', 'container', '{"condition":"restarting","containers":["*"],"forSeconds":0,"restarts":3,"windowSeconds":900}', 'warning', true, 'global', '', true, now(), now()),
        ('2f63895b-968c-5d89-bdbf-344a5cb8443c', 'device-offline', 'Device offline', 'offline', '{"afterSeconds":300}', 'critical', true, 'global', '', true, now(), now()),
        ('2c3d9bde-d66e-5d2a-9443-20a4dbaf07e1', 'tunnel-stale', 'Tunnel handshake stale', 'tunnel', '{"staleAfterSeconds":600}', 'warning', true, 'global', '', true, now(), now()),
        ('274a9774-b11f-593d-a6ea-02b420d1a200', 'fingerprint-changed', 'Hardware fingerprint changed', 'event', '{"eventType":"fingerprint.changed","resolvedBy":"fingerprint.accepted"}', 'critical', true, 'global', '', true, now(), now()),
        ('d3cce6b2-45c6-5208-9d64-242cc954900f', 'hardware-changed', 'Hardware changed', 'event', '{"eventType":"hardware.changed"}', 'info', true, 'global', '', true, now(), now()),
        ('5d4b2e08-e033-54b9-b04b-e644ba4ba2d9', 'journal-gap', 'Heartbeats lost (journal gap)', 'event', '{"eventType":"journal.gap"}', 'warning', true, 'global', '', true, now(), now()),
        ('88f58c22-2fe1-58e4-8975-f850dc23f726', 'agent-outdated', 'Agent behind the served build', 'agent_outdated', '{"forSeconds":86400}', 'info', true, 'global', '', true, now(), now()),
        ('b50dc392-62b8-502f-98ba-d1d6e6cb28e3', 'fleet-offline-warning', 'Share of fleet offline', 'fleet_offline', '{"sharePercent":20,"clearBelowPercent":15,"minDevices":5}', 'warning', true, 'global', '', true, now(), now()),
        ('73b9bdca-5b1e-573c-bb99-b685487a42ae', 'fleet-offline-critical', 'Large share of fleet offline', 'fleet_offline', '{"sharePercent":50,"clearBelowPercent":40,"minDevices":5}', 'critical', true, 'global', '', true, now(), now())`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "alert_deliveries"`);
    await queryRunner.query(`DROP TABLE "alert_targets"`);
    await queryRunner.query(`DROP TABLE "alert_outbox_cursors"`);
    await queryRunner.query(`DROP TABLE "alert_silences"`);
    await queryRunner.query(`DROP TABLE "alerts"`);
    await queryRunner.query(`DROP TABLE "alert_conditions"`);
    await queryRunner.query(`DROP TABLE "alert_rules"`);
    await queryRunner.query(`DROP INDEX "ix_device_events_xid_id"`);
    await queryRunner.query(`ALTER TABLE "device_events" DROP COLUMN "xid"`);
    await queryRunner.query(`DROP FUNCTION "current_xact_id_bigint"()`);
  }
}
