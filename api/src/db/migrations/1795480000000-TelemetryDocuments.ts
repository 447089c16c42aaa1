import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Lets the heartbeat group commit skip latest-state documents that did not change.
 *
 * `services_sequence` / `docker_sequence`: the sequence of the heartbeat whose document is
 * stored. An API instance that wrote a document remembers its hash and that sequence; when the
 * next heartbeat carries the same document it sends only the sequence (a claim), and the write
 * keeps the stored document if the claim still holds. A claim that no longer holds (another
 * instance wrote a different document meanwhile) aborts the statement with SQLSTATE XS409 via
 * `xs_telemetry_document_stale`; the API then writes the batch again with every document.
 *
 * `container_stats`: per container [cpuPercent, memoryBytes], in the order of the stored
 * containers. They change every heartbeat, so they are kept out of the (stable) docker document.
 *
 * Instances of the previous version do not maintain these columns: upgrade every instance at
 * once (stop, migrate, start), as `npm start` does.
 */
export class TelemetryDocuments1795480000000 implements MigrationInterface {
  name = 'TelemetryDocuments1795480000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `ALTER TABLE "device_telemetry" ADD "services_sequence" bigint, ADD "docker_sequence" bigint, ADD "container_stats" jsonb`,
    );
    const rows: Array<{ lz4: boolean }> = await queryRunner.query(
      `SELECT 'lz4' = ANY(enumvals) AS lz4 FROM pg_settings WHERE name = 'default_toast_compression'`,
    );
    if (rows[0]?.lz4) await queryRunner.query(`ALTER TABLE "device_telemetry" ALTER COLUMN "container_stats" SET COMPRESSION lz4`);
    await queryRunner.query(
      `CREATE FUNCTION xs_telemetry_document_stale(device uuid, result anyelement) RETURNS anyelement LANGUAGE plpgsql VOLATILE AS $$
       BEGIN
         RAISE EXCEPTION 'the stored telemetry document of device % is not the one this write assumed', device USING ERRCODE = 'XS409';
       END $$`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP FUNCTION xs_telemetry_document_stale(uuid, anyelement)`);
    await queryRunner.query(
      `ALTER TABLE "device_telemetry" DROP COLUMN "container_stats", DROP COLUMN "docker_sequence", DROP COLUMN "services_sequence"`,
    );
  }
}
