import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The signed command queue (api/src/commands/command.entity.ts); the API role gets its grants by default privileges. */
export class Commands1795520000000 implements MigrationInterface {
  name = 'Commands1795520000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "commands" ("id" uuid NOT NULL, "device_id" uuid NOT NULL, "action" text NOT NULL, "params" jsonb NOT NULL, "critical" boolean NOT NULL, "key_id" text NOT NULL, "nonce" text NOT NULL, "issued_at" TIMESTAMP WITH TIME ZONE NOT NULL, "expires_at" TIMESTAMP WITH TIME ZONE NOT NULL, "signature" text NOT NULL, "status" text NOT NULL, "requested_by_user_id" uuid, "requested_by" text NOT NULL, "delivered_at" TIMESTAMP WITH TIME ZONE, "started_at" TIMESTAMP WITH TIME ZONE, "finished_at" TIMESTAMP WITH TIME ZONE, "exit_code" integer, "stdout" text, "stderr" text, "stdout_truncated" boolean NOT NULL DEFAULT false, "stderr_truncated" boolean NOT NULL DEFAULT false, "reason" text, CONSTRAINT "chk_commands_status" CHECK ("status" IN ('queued', 'delivered', 'running', 'succeeded', 'failed', 'rejected', 'expired', 'interrupted')), CONSTRAINT "PK_7ac292c3aa19300482b2b190d1e" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE UNIQUE INDEX "uq_commands_nonce" ON "commands" ("nonce")`);
    await queryRunner.query(`CREATE INDEX "ix_commands_open" ON "commands" ("device_id") WHERE "status" IN ('queued', 'delivered')`);
    await queryRunner.query(`CREATE INDEX "ix_commands_issued" ON "commands" ("issued_at")`);
    await queryRunner.query(`CREATE INDEX "ix_commands_device_issued" ON "commands" ("device_id", "issued_at")`);
    await queryRunner.query(
      `ALTER TABLE "commands" ADD CONSTRAINT "fk_commands_device" FOREIGN KEY ("device_id") REFERENCES "devices"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "commands"`);
  }
}
