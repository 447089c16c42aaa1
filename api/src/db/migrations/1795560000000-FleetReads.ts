import type { MigrationInterface, QueryRunner } from 'typeorm';
import { headlineCpuSql, headlineDiskSql, headlineMemSql } from '../headline-sql.js';

/**
 * Fleet reads at 10,000 devices (issue 20): the headline CPU, memory and fullest-disk percentages
 * of each device's latest metrics as plain columns (written by the heartbeat group commit), so
 * sorting the list by them is an index scan, and one index per sort the console offers
 * (DEVICE_SORTS in contracts/src/devices.ts), each exactly the ORDER BY of
 * api/src/devices/fleet-view.repository.ts: key, its direction and NULLS placement, then id. A
 * `NULLS FIRST` in the query against a default (NULLS LAST) ascending index, even on a NOT NULL
 * column, makes PostgreSQL sort instead of scanning the index.
 */
const SORT_INDEXES: Array<[name: string, column: string, nulls: 'first' | 'last']> = [
  ['name', 'name', 'first'],
  ['last_heartbeat', 'last_heartbeat_at', 'first'],
  ['created', 'created_at', 'first'],
  ['enrolled', 'enrolled_at', 'first'],
  ['status', 'status', 'first'],
  ['cpu', 'headline_cpu_percent', 'last'],
  ['mem', 'headline_mem_percent', 'last'],
  ['disk', 'headline_disk_percent', 'last'],
];

export class FleetReads1795560000000 implements MigrationInterface {
  name = 'FleetReads1795560000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "devices" ADD "headline_cpu_percent" double precision`);
    await queryRunner.query(`ALTER TABLE "devices" ADD "headline_mem_percent" double precision`);
    await queryRunner.query(`ALTER TABLE "devices" ADD "headline_disk_percent" double precision`);
    // Existing documents, read bounded: a stored document the contract no longer allows must not fail the migration.
    await queryRunner.query(
      `UPDATE devices d
          SET headline_cpu_percent = ${headlineCpuSql('t.metrics')},
              headline_mem_percent = ${headlineMemSql('t.metrics')},
              headline_disk_percent = ${headlineDiskSql('t.metrics')}
         FROM device_telemetry t
        WHERE t.device_id = d.id AND t.metrics IS NOT NULL`,
    );
    for (const [name, column, nulls] of SORT_INDEXES) {
      // Ascending: NULLS FIRST for the lifecycle keys (never seen first), LAST for metrics; descending: always NULLS LAST.
      await queryRunner.query(`CREATE INDEX "ix_devices_sort_${name}" ON "devices" ("${column}" ASC NULLS ${nulls.toUpperCase()}, "id")`);
      await queryRunner.query(`CREATE INDEX "ix_devices_sort_${name}_desc" ON "devices" ("${column}" DESC NULLS LAST, "id")`);
    }
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    for (const [name] of SORT_INDEXES) {
      await queryRunner.query(`DROP INDEX "ix_devices_sort_${name}_desc"`);
      await queryRunner.query(`DROP INDEX "ix_devices_sort_${name}"`);
    }
    await queryRunner.query(`ALTER TABLE "devices" DROP COLUMN "headline_disk_percent"`);
    await queryRunner.query(`ALTER TABLE "devices" DROP COLUMN "headline_mem_percent"`);
    await queryRunner.query(`ALTER TABLE "devices" DROP COLUMN "headline_cpu_percent"`);
  }
}
