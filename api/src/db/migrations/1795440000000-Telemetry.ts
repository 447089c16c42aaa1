import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Latest telemetry per device, metric samples in a table partitioned by day, and their
 * 1-minute and 1-hour rollups. TypeORM does
 * not model partitioned tables, so metric_samples has no entity: its repository speaks SQL.
 */
export class Telemetry1795440000000 implements MigrationInterface {
  name = 'Telemetry1795440000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "device_telemetry" ("device_id" uuid NOT NULL, "sequence" bigint NOT NULL, "sampled_at" TIMESTAMP WITH TIME ZONE NOT NULL, "metrics" jsonb, "services" jsonb, "docker" jsonb, CONSTRAINT "PK_device_telemetry" PRIMARY KEY ("device_id"))`,
    );
    await queryRunner.query(
      `ALTER TABLE "device_telemetry" ADD CONSTRAINT "fk_device_telemetry_device" FOREIGN KEY ("device_id") REFERENCES "devices"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(`CREATE TABLE "metric_samples" (
      "device_id" uuid NOT NULL REFERENCES "devices"("id") ON DELETE CASCADE,
      "sampled_at" TIMESTAMP WITH TIME ZONE NOT NULL,
      "sequence" bigint NOT NULL,
      "received_at" TIMESTAMP WITH TIME ZONE NOT NULL,
      "cpu_percent" real,
      "load1" real,
      "mem_used_bytes" bigint,
      "mem_total_bytes" bigint,
      "swap_used_bytes" bigint,
      "disk_used_percent_max" real,
      "net_rx_bps" double precision,
      "net_tx_bps" double precision,
      PRIMARY KEY ("device_id", "sampled_at", "sequence")
    ) PARTITION BY RANGE ("sampled_at")`);
    // The rollup job finds late rows (a replayed journal) by when they arrived.
    await queryRunner.query(`CREATE INDEX "ix_metric_samples_received_at" ON "metric_samples" ("received_at")`);
    for (const table of ['metric_rollups_1m', 'metric_rollups_1h']) {
      await queryRunner.query(`CREATE TABLE "${table}" (
        "device_id" uuid NOT NULL REFERENCES "devices"("id") ON DELETE CASCADE,
        "bucket" TIMESTAMP WITH TIME ZONE NOT NULL,
        "samples" integer NOT NULL,
        "cpu_avg" real, "cpu_max" real, "load1_avg" real,
        "mem_used_avg" double precision, "mem_total_max" bigint, "swap_used_avg" double precision,
        "disk_used_percent_max" real, "net_rx_bps_avg" double precision, "net_tx_bps_avg" double precision,
        PRIMARY KEY ("device_id", "bucket"))`);
    }
    // One partition per UTC day; the worker keeps them created ahead and drops expired ones.
    await queryRunner.query(`CREATE FUNCTION "ensure_metric_partitions"(first_day date, days integer) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
  day date;
  created integer := 0;
  name text;
BEGIN
  FOR i IN 0 .. days - 1 LOOP
    day := first_day + i;
    name := 'metric_samples_' || to_char(day, 'YYYYMMDD');
    IF to_regclass(name) IS NULL THEN
      EXECUTE format('CREATE TABLE %I PARTITION OF metric_samples FOR VALUES FROM (%L) TO (%L)', name, day::timestamp AT TIME ZONE 'UTC', (day + 1)::timestamp AT TIME ZONE 'UTC');
      created := created + 1;
    END IF;
  END LOOP;
  RETURN created;
END
$$`);
    await queryRunner.query(`SELECT "ensure_metric_partitions"((now() AT TIME ZONE 'UTC')::date - 1, 9)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "metric_rollups_1h"`);
    await queryRunner.query(`DROP TABLE "metric_rollups_1m"`);
    await queryRunner.query(`DROP TABLE "metric_samples"`);
    await queryRunner.query(`DROP FUNCTION "ensure_metric_partitions"(date, integer)`);
    await queryRunner.query(`DROP TABLE "device_telemetry"`);
  }
}
