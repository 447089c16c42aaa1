import type { MigrationInterface, QueryRunner } from 'typeorm';

const EVENTS_BEFORE = `'fingerprint.changed', 'fingerprint.accepted', 'hardware.changed', 'journal.gap', 'device.enrolled', 'device.revoked', 'device.retired', 'backup.failed', 'backup.succeeded', 'backup.overdue', 'backup.check_failed', 'backup.check_succeeded', 'backup.quota_high', 'backup.quota_ok'`;
const NEW_EVENTS = `'ssh.host_key_changed', 'ssh.host_key_accepted'`;
const EVENTS_AFTER = `${EVENTS_BEFORE}, ${NEW_EVENTS}`;

/**
 * Terminal and file sessions over SSH (api/src/remote-access): the sessions with their
 * recordings, a device's pending SSH host key beside the pinned one, the device events for a
 * changed / accepted host key and the built-in critical rule that alerts on a change until it is
 * accepted.
 */
export class RemoteAccess1795660000000 implements MigrationInterface {
  name = 'RemoteAccess1795660000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "remote_sessions" ("id" uuid NOT NULL, "kind" text NOT NULL, "device_id" uuid NOT NULL, "device_name" text NOT NULL, "user_id" uuid NOT NULL, "user_email" text NOT NULL, "auth_session_id" uuid NOT NULL, "instance_id" text NOT NULL, "certificate_key_id" text NOT NULL, "opened_at" TIMESTAMP WITH TIME ZONE NOT NULL, "closed_at" TIMESTAMP WITH TIME ZONE, "end_reason" text, "recording_file" text, "recording_bytes" bigint NOT NULL DEFAULT '0', "recording_sha256" text, "input_recorded" boolean NOT NULL DEFAULT false, CONSTRAINT "chk_remote_sessions_kind" CHECK ("kind" IN ('terminal', 'files')), CONSTRAINT "pk_remote_sessions" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE INDEX "ix_remote_sessions_user_opened" ON "remote_sessions" ("user_id", "opened_at")`);
    await queryRunner.query(`CREATE INDEX "ix_remote_sessions_device_opened" ON "remote_sessions" ("device_id", "opened_at")`);
    await queryRunner.query(`CREATE INDEX "ix_remote_sessions_opened" ON "remote_sessions" ("opened_at", "id")`);
    await queryRunner.query(`ALTER TABLE "devices" ADD "ssh_host_key_pending" text`);
    await queryRunner.query(`ALTER TABLE "devices" ADD "ssh_host_key_pending_at" TIMESTAMP WITH TIME ZONE`);
    await queryRunner.query(`ALTER TABLE "devices" ADD "ssh_host_key_pending_source" text`);
    await queryRunner.query(
      `ALTER TABLE "remote_sessions" ADD CONSTRAINT "fk_remote_sessions_device" FOREIGN KEY ("device_id") REFERENCES "devices"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "remote_sessions" ADD CONSTRAINT "fk_remote_sessions_user" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(`ALTER TABLE "device_events" DROP CONSTRAINT "chk_device_events_type"`);
    await queryRunner.query(`ALTER TABLE "device_events" ADD CONSTRAINT "chk_device_events_type" CHECK ("type" IN (${EVENTS_AFTER}))`);
    await queryRunner.query(
      `INSERT INTO "alert_rules" ("id", "key", "name", "kind", "params", "severity", "enabled", "scope_kind", "scope_ref", "built_in", "created_at", "updated_at") VALUES
        ('25cadab7-ca88-50bb-b1d4-0057f458fdce', 'ssh-host-key-changed', 'SSH host key changed', 'event', '{"eventType":"ssh.host_key_changed","resolvedBy":"ssh.host_key_accepted"}', 'critical', true, 'global', '', true, now(), now())`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DELETE FROM "alert_rules" WHERE "key" = 'ssh-host-key-changed'`);
    await queryRunner.query(`DELETE FROM "device_events" WHERE "type" IN (${NEW_EVENTS})`);
    await queryRunner.query(`ALTER TABLE "device_events" DROP CONSTRAINT "chk_device_events_type"`);
    await queryRunner.query(`ALTER TABLE "device_events" ADD CONSTRAINT "chk_device_events_type" CHECK ("type" IN (${EVENTS_BEFORE}))`);
    await queryRunner.query(`ALTER TABLE "remote_sessions" DROP CONSTRAINT "fk_remote_sessions_user"`);
    await queryRunner.query(`ALTER TABLE "remote_sessions" DROP CONSTRAINT "fk_remote_sessions_device"`);
    await queryRunner.query(`ALTER TABLE "devices" DROP COLUMN "ssh_host_key_pending_source"`);
    await queryRunner.query(`ALTER TABLE "devices" DROP COLUMN "ssh_host_key_pending_at"`);
    await queryRunner.query(`ALTER TABLE "devices" DROP COLUMN "ssh_host_key_pending"`);
    await queryRunner.query(`DROP INDEX "public"."ix_remote_sessions_opened"`);
    await queryRunner.query(`DROP INDEX "public"."ix_remote_sessions_device_opened"`);
    await queryRunner.query(`DROP INDEX "public"."ix_remote_sessions_user_opened"`);
    await queryRunner.query(`DROP TABLE "remote_sessions"`);
  }
}
