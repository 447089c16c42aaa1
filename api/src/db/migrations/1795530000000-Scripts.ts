import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The script library (api/src/scripts): scripts and every content version a command may still
 * name; the API role gets its grants by default privileges.
 */
export class Scripts1795530000000 implements MigrationInterface {
  name = 'Scripts1795530000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "scripts" ("id" uuid NOT NULL, "name" text NOT NULL, "description" text NOT NULL, "interpreter" text NOT NULL, "content" text NOT NULL, "sha256" text NOT NULL, "size_bytes" integer NOT NULL, "timeout_seconds" integer NOT NULL, "archived_at" TIMESTAMP WITH TIME ZONE, "last_queued_at" TIMESTAMP WITH TIME ZONE, "created_by" text NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL, "updated_by" text NOT NULL, "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL, CONSTRAINT "chk_scripts_sha256" CHECK ("sha256" ~ '^[0-9a-f]{64}$'), CONSTRAINT "chk_scripts_timeout" CHECK ("timeout_seconds" BETWEEN 1 AND 3600), CONSTRAINT "chk_scripts_interpreter" CHECK ("interpreter" IN ('bash', 'sh', 'python3')), CONSTRAINT "pk_scripts" PRIMARY KEY ("id"))`,
    );
    // Case-insensitive unique names among scripts that are not archived (script.entity.ts).
    await queryRunner.query(`CREATE UNIQUE INDEX "uq_scripts_name_lower" ON "scripts" (lower("name")) WHERE "archived_at" IS NULL`);
    await queryRunner.query(
      `CREATE TABLE "script_versions" ("script_id" uuid NOT NULL, "sha256" text NOT NULL, "content" text NOT NULL, "created_by" text NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL, CONSTRAINT "pk_script_versions" PRIMARY KEY ("script_id", "sha256"))`,
    );
    await queryRunner.query(
      `ALTER TABLE "script_versions" ADD CONSTRAINT "fk_script_versions_script" FOREIGN KEY ("script_id") REFERENCES "scripts"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "script_versions"`);
    await queryRunner.query(`DROP TABLE "scripts"`);
  }
}
