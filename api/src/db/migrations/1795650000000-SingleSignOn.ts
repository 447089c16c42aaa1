import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Single sign-on (issue 18): identity providers, the SSO identities linked to operator accounts
 * (matched by the IdP's subject), accounts without a local password, how each session signed
 * in, and the policy that can make SSO mandatory except for break-glass accounts.
 */
export class SingleSignOn1795650000000 implements MigrationInterface {
  name = 'SingleSignOn1795650000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "identity_providers" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "protocol" text NOT NULL, "name" text NOT NULL, "preset" text NOT NULL DEFAULT 'generic', "enabled" boolean NOT NULL DEFAULT true, "allowed_email_domains" text array NOT NULL, "role_rules" jsonb NOT NULL, "session_max_seconds" integer NOT NULL, "settings" jsonb NOT NULL, "client_secret_sealed" text, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "uq_identity_providers_name" UNIQUE ("name"), CONSTRAINT "chk_identity_providers_preset" CHECK ("preset" IN ('entra', 'google', 'generic')), CONSTRAINT "chk_identity_providers_protocol" CHECK ("protocol" IN ('saml', 'oidc')), CONSTRAINT "PK_3ac9e77e3690c03f7f25579c8e0" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(
      `CREATE TABLE "user_identities" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "user_id" uuid NOT NULL, "provider_id" uuid NOT NULL, "subject" text NOT NULL, "email" text, "last_login_at" TIMESTAMP WITH TIME ZONE, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "uq_user_identities_user_provider" UNIQUE ("user_id", "provider_id"), CONSTRAINT "uq_user_identities_subject" UNIQUE ("provider_id", "subject"), CONSTRAINT "PK_e23bff04e9c3e7b785e442b262c" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE INDEX "ix_user_identities_provider" ON "user_identities"  ("provider_id") `);
    await queryRunner.query(`ALTER TABLE "auth_sessions" ADD "auth_method" text NOT NULL DEFAULT 'password'`);
    await queryRunner.query(`ALTER TABLE "auth_sessions" ADD "identity_provider_id" uuid`);
    await queryRunner.query(`ALTER TABLE "security_settings" ADD "sso_required" boolean NOT NULL DEFAULT false`);
    await queryRunner.query(`ALTER TABLE "security_settings" ADD "sso_break_glass_user_ids" uuid array NOT NULL DEFAULT '{}'`);
    await queryRunner.query(`ALTER TABLE "users" ALTER COLUMN "password_hash" DROP NOT NULL`);
    await queryRunner.query(
      `ALTER TABLE "auth_sessions" ADD CONSTRAINT "chk_auth_sessions_auth_method" CHECK ("auth_method" IN ('password', 'sso'))`,
    );
    await queryRunner.query(
      `ALTER TABLE "auth_sessions" ADD CONSTRAINT "fk_auth_sessions_identity_provider" FOREIGN KEY ("identity_provider_id") REFERENCES "identity_providers"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "user_identities" ADD CONSTRAINT "fk_user_identities_user" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "user_identities" ADD CONSTRAINT "fk_user_identities_provider" FOREIGN KEY ("provider_id") REFERENCES "identity_providers"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "user_identities" DROP CONSTRAINT "fk_user_identities_provider"`);
    await queryRunner.query(`ALTER TABLE "user_identities" DROP CONSTRAINT "fk_user_identities_user"`);
    await queryRunner.query(`ALTER TABLE "auth_sessions" DROP CONSTRAINT "fk_auth_sessions_identity_provider"`);
    await queryRunner.query(`ALTER TABLE "auth_sessions" DROP CONSTRAINT "chk_auth_sessions_auth_method"`);
    // SSO-only accounts have no password: they cannot survive the way back.
    await queryRunner.query(`DELETE FROM "users" WHERE "password_hash" IS NULL`);
    await queryRunner.query(`ALTER TABLE "users" ALTER COLUMN "password_hash" SET NOT NULL`);
    await queryRunner.query(`ALTER TABLE "security_settings" DROP COLUMN "sso_break_glass_user_ids"`);
    await queryRunner.query(`ALTER TABLE "security_settings" DROP COLUMN "sso_required"`);
    await queryRunner.query(`DELETE FROM "auth_sessions" WHERE "auth_method" = 'sso'`);
    await queryRunner.query(`ALTER TABLE "auth_sessions" DROP COLUMN "identity_provider_id"`);
    await queryRunner.query(`ALTER TABLE "auth_sessions" DROP COLUMN "auth_method"`);
    await queryRunner.query(`DROP INDEX "public"."ix_user_identities_provider"`);
    await queryRunner.query(`DROP TABLE "user_identities"`);
    await queryRunner.query(`DROP TABLE "identity_providers"`);
  }
}
