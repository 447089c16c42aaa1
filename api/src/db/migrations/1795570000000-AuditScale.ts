import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Audit at scale: indexes that end in id for every filter of the audit list (so a filtered,
 * newest-first cursor page is an index range scan), and the verification results the worker
 * records (api/src/audit/audit-verification.entity.ts), read by GET audit/verify.
 */
export class AuditScale1795570000000 implements MigrationInterface {
  name = 'AuditScale1795570000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "ix_audit_events_user"`);
    await queryRunner.query(`DROP INDEX "ix_audit_events_resource"`);
    await queryRunner.query(`CREATE INDEX "ix_audit_events_user" ON "audit_events" ("user_id", "id")`);
    await queryRunner.query(`CREATE INDEX "ix_audit_events_resource" ON "audit_events" ("resource_type", "resource_id", "id")`);
    await queryRunner.query(`CREATE INDEX "ix_audit_events_resource_id" ON "audit_events" ("resource_id", "id")`);
    await queryRunner.query(`CREATE INDEX "ix_audit_events_action" ON "audit_events" ("action", "id")`);
    await queryRunner.query(`CREATE INDEX "ix_audit_events_result" ON "audit_events" ("result", "id")`);
    await queryRunner.query(
      `CREATE TABLE "audit_verifications" (
        "id" bigserial NOT NULL,
        "verified_at" timestamptz NOT NULL,
        "full" boolean NOT NULL,
        "from_id" bigint NOT NULL,
        "through_id" bigint NOT NULL,
        "through_hash" text NOT NULL,
        "checked" integer NOT NULL,
        "intact" boolean NOT NULL,
        "first_broken_id" bigint,
        "reason" text,
        "mac" text NOT NULL,
        CONSTRAINT "pk_audit_verifications" PRIMARY KEY ("id")
      )`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "audit_verifications"`);
    await queryRunner.query(`DROP INDEX "ix_audit_events_result"`);
    await queryRunner.query(`DROP INDEX "ix_audit_events_action"`);
    await queryRunner.query(`DROP INDEX "ix_audit_events_resource_id"`);
    await queryRunner.query(`DROP INDEX "ix_audit_events_resource"`);
    await queryRunner.query(`DROP INDEX "ix_audit_events_user"`);
    await queryRunner.query(`CREATE INDEX "ix_audit_events_user" ON "audit_events" ("user_id")`);
    await queryRunner.query(`CREATE INDEX "ix_audit_events_resource" ON "audit_events" ("resource_type", "resource_id")`);
  }
}
