import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Operators, sessions, organizations and sites, security policy, and the append-only audit trail. */
export class Foundation1795420000000 implements MigrationInterface {
  name = 'Foundation1795420000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "audit_events" ("id" bigint NOT NULL, "occurred_at" TIMESTAMP WITH TIME ZONE NOT NULL, "user_id" uuid, "user_email" text, "source_ip" text, "request_id" text, "action" text NOT NULL, "resource_type" text NOT NULL, "resource_id" text, "details" jsonb NOT NULL, "result" text NOT NULL, "error_message" text, "prev_hash" text NOT NULL, "hash" text NOT NULL, CONSTRAINT "chk_audit_events_result" CHECK ("result" IN ('success', 'failure')), CONSTRAINT "PK_910f64d901a5c3e9878f0d4a407" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE INDEX "ix_audit_events_resource" ON "audit_events"  ("resource_type", "resource_id") `);
    await queryRunner.query(`CREATE INDEX "ix_audit_events_user" ON "audit_events"  ("user_id") `);
    await queryRunner.query(`CREATE INDEX "ix_audit_events_occurred_at" ON "audit_events"  ("occurred_at") `);
    await queryRunner.query(
      `CREATE TABLE "auth_refresh_tokens" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "session_id" uuid NOT NULL, "token_hash" text NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "expires_at" TIMESTAMP WITH TIME ZONE NOT NULL, "used_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "uq_auth_refresh_tokens_hash" UNIQUE ("token_hash"), CONSTRAINT "PK_df6893d2063a4ea7bbf1eda31e5" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE INDEX "ix_auth_refresh_tokens_session" ON "auth_refresh_tokens"  ("session_id") `);
    await queryRunner.query(
      `CREATE TABLE "auth_sessions" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "user_id" uuid NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "expires_at" TIMESTAMP WITH TIME ZONE NOT NULL, "revoked_at" TIMESTAMP WITH TIME ZONE, "revoke_reason" text, "step_up_at" TIMESTAMP WITH TIME ZONE, "source_ip" text, "user_agent" text, CONSTRAINT "PK_641507381f32580e8479efc36cd" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE INDEX "ix_auth_sessions_user" ON "auth_sessions"  ("user_id") `);
    await queryRunner.query(
      `CREATE TABLE "organizations" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "name" text NOT NULL, "kind" text NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "chk_organizations_kind" CHECK ("kind" IN ('customer', 'internal')), CONSTRAINT "PK_6b031fcd0863e3f6b44230163f9" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(
      `CREATE TABLE "sites" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "organization_id" uuid NOT NULL, "name" text NOT NULL, "time_zone" text NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_4f5eccb1dfde10c9170502595a7" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE INDEX "ix_sites_organization" ON "sites"  ("organization_id") `);
    await queryRunner.query(
      `CREATE TABLE "security_settings" ("id" integer NOT NULL, "require_totp" boolean NOT NULL DEFAULT false, "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_4aec436cf81177ae97a1bcec3c7" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(
      `CREATE TABLE "user_recovery_codes" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "user_id" uuid NOT NULL, "code_hash" text NOT NULL, "used_at" TIMESTAMP WITH TIME ZONE, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_411939add58ed0eceffd39973cf" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE UNIQUE INDEX "uq_user_recovery_codes_user_hash" ON "user_recovery_codes"  ("user_id", "code_hash") `);
    await queryRunner.query(
      `CREATE TABLE "users" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "email" text NOT NULL, "display_name" text NOT NULL, "role" text NOT NULL, "status" text NOT NULL DEFAULT 'active', "password_hash" text NOT NULL, "totp_secret_sealed" text, "totp_pending_secret_sealed" text, "totp_enabled" boolean NOT NULL DEFAULT false, "totp_last_step" bigint, "failed_login_count" integer NOT NULL DEFAULT '0', "backoff_until" TIMESTAMP WITH TIME ZONE, "is_locked" boolean NOT NULL DEFAULT false, "last_login_at" TIMESTAMP WITH TIME ZONE, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "uq_users_email" UNIQUE ("email"), CONSTRAINT "chk_users_status" CHECK ("status" IN ('active', 'disabled')), CONSTRAINT "chk_users_role" CHECK ("role" IN ('super_admin', 'soc_operator', 'read_only')), CONSTRAINT "PK_a3ffb1c0c8416b9fc6f907b7433" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(
      `ALTER TABLE "auth_refresh_tokens" ADD CONSTRAINT "fk_auth_refresh_tokens_session" FOREIGN KEY ("session_id") REFERENCES "auth_sessions"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "auth_sessions" ADD CONSTRAINT "fk_auth_sessions_user" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "sites" ADD CONSTRAINT "fk_sites_organization" FOREIGN KEY ("organization_id") REFERENCES "organizations"("id") ON DELETE RESTRICT ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "user_recovery_codes" ADD CONSTRAINT "fk_user_recovery_codes_user" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(`CREATE UNIQUE INDEX "uq_organizations_name_lower" ON "organizations" (lower("name"))`);
    await queryRunner.query(`CREATE UNIQUE INDEX "uq_organizations_single_internal" ON "organizations" ("kind") WHERE "kind" = 'internal'`);
    await queryRunner.query(`CREATE UNIQUE INDEX "uq_sites_organization_name_lower" ON "sites" ("organization_id", lower("name"))`);
    await queryRunner.query(`INSERT INTO "security_settings" ("id", "require_totp") VALUES (1, false)`);
    await queryRunner.query(`CREATE FUNCTION "audit_events_refuse_change"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_events is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END
$$`);
    await queryRunner.query(
      `CREATE TRIGGER "audit_events_append_only" BEFORE UPDATE OR DELETE ON "audit_events" FOR EACH ROW EXECUTE FUNCTION "audit_events_refuse_change"()`,
    );
    await queryRunner.query(
      `CREATE TRIGGER "audit_events_no_truncate" BEFORE TRUNCATE ON "audit_events" FOR EACH STATEMENT EXECUTE FUNCTION "audit_events_refuse_change"()`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TRIGGER "audit_events_no_truncate" ON "audit_events"`);
    await queryRunner.query(`DROP TRIGGER "audit_events_append_only" ON "audit_events"`);
    await queryRunner.query(`DROP FUNCTION "audit_events_refuse_change"()`);
    await queryRunner.query(`DROP INDEX "uq_sites_organization_name_lower"`);
    await queryRunner.query(`DROP INDEX "uq_organizations_single_internal"`);
    await queryRunner.query(`DROP INDEX "uq_organizations_name_lower"`);
    await queryRunner.query(`ALTER TABLE "user_recovery_codes" DROP CONSTRAINT "fk_user_recovery_codes_user"`);
    await queryRunner.query(`ALTER TABLE "sites" DROP CONSTRAINT "fk_sites_organization"`);
    await queryRunner.query(`ALTER TABLE "auth_sessions" DROP CONSTRAINT "fk_auth_sessions_user"`);
    await queryRunner.query(`ALTER TABLE "auth_refresh_tokens" DROP CONSTRAINT "fk_auth_refresh_tokens_session"`);
    await queryRunner.query(`DROP TABLE "users"`);
    await queryRunner.query(`DROP INDEX "public"."uq_user_recovery_codes_user_hash"`);
    await queryRunner.query(`DROP TABLE "user_recovery_codes"`);
    await queryRunner.query(`DROP TABLE "security_settings"`);
    await queryRunner.query(`DROP INDEX "public"."ix_sites_organization"`);
    await queryRunner.query(`DROP TABLE "sites"`);
    await queryRunner.query(`DROP TABLE "organizations"`);
    await queryRunner.query(`DROP INDEX "public"."ix_auth_sessions_user"`);
    await queryRunner.query(`DROP TABLE "auth_sessions"`);
    await queryRunner.query(`DROP INDEX "public"."ix_auth_refresh_tokens_session"`);
    await queryRunner.query(`DROP TABLE "auth_refresh_tokens"`);
    await queryRunner.query(`DROP INDEX "public"."ix_audit_events_occurred_at"`);
    await queryRunner.query(`DROP INDEX "public"."ix_audit_events_user"`);
    await queryRunner.query(`DROP INDEX "public"."ix_audit_events_resource"`);
    await queryRunner.query(`DROP TABLE "audit_events"`);
  }
}
