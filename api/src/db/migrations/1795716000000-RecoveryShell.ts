import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Recovery shells (issue 16 item 6): the SSH host key a booted recovery stick registered for this
 * boot (`ssh-ed25519 …`), pinned for the recovery terminal and cleared with the rest of the
 * recovery-mode state.
 */
export class RecoveryShell1795716000000 implements MigrationInterface {
  name = 'RecoveryShell1795716000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "recovery_media" ADD "ssh_host_key" text`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "recovery_media" DROP COLUMN "ssh_host_key"`);
  }
}
