import type { MigrationInterface, QueryRunner } from 'typeorm';
import { DEFAULT_HEARTBEAT_RETENTION_DAYS } from '../../config/config.js';
import { APP_ROLE } from './1795505000000-AppRole.js';

/** The tables whose day partitions the API's role may create and drop (through the functions below). */
const DAY_PARTITIONED_TABLES = ['metric_samples', 'device_heartbeats'] as const;

/** Sequences below a device's highest stored one that its window remembers (bit i: high - i was stored). */
export const HEARTBEAT_WINDOW_BITS = 1024;

const COLUMNS = `"device_id", "sequence", "sent_at", "received_at", "uptime_seconds", "agent_version"`;
const ALLOWED = DAY_PARTITIONED_TABLES.map((t) => `'${t}'`).join(', ');

const EMPTY = `repeat('0', ${HEARTBEAT_WINDOW_BITS})::bit(${HEARTBEAT_WINDOW_BITS})`;
const FULL = `repeat('1', ${HEARTBEAT_WINDOW_BITS})::bit(${HEARTBEAT_WINDOW_BITS})`;

/**
 * One window per device, exact from the stored rows: the highest stored sequence and one bit for
 * each of the 1024 sequences at and below it (read backwards on the (device_id, sequence) key).
 * A device with a last_sequence but no rows gets every bit set (nothing in its window can be shown
 * new); one that never sent anything an empty window at 0.
 */
export const SEED_WINDOWS_SQL = `
INSERT INTO "device_heartbeat_windows" ("device_id", "high_sequence", "seen")
SELECT d.id, COALESCE(m.high, d.last_sequence, 0),
       COALESCE(b.seen, CASE WHEN d.last_sequence IS NULL THEN ${EMPTY} ELSE ${FULL} END)
  FROM "devices" d
  CROSS JOIN LATERAL (SELECT max(h.sequence) AS high FROM "device_heartbeats" h WHERE h.device_id = d.id) m
  CROSS JOIN LATERAL (SELECT bit_or(B'1'::bit(${HEARTBEAT_WINDOW_BITS}) >> (m.high - h.sequence)::int) AS seen
                        FROM "device_heartbeats" h
                       WHERE h.device_id = d.id AND h.sequence > m.high - ${HEARTBEAT_WINDOW_BITS}) b`;

/**
 * Bounded heartbeat storage. device_heartbeats becomes partitioned by day of received_at (the
 * worker drops days past API_HEARTBEAT_RETENTION_DAYS), so its primary key can no longer make a
 * replay a duplicate once a day is gone: device_heartbeat_windows keeps, per device, the highest
 * stored sequence and a 1024-bit window below it (an anti-replay window as in RFC 6479), which
 * ingest/heartbeat-batch.repository.ts checks and advances (a trigger gives every new device its
 * row). Rows received in the last
 * DEFAULT_HEARTBEAT_RETENTION_DAYS days move to the new table; the windows are seeded from all rows.
 *
 * The day-partition functions of metric_samples (Telemetry, AppRole) become one SECURITY DEFINER
 * pair for an allow-list of parent tables.
 */
export class HeartbeatRetention1795580000000 implements MigrationInterface {
  name = 'HeartbeatRetention1795580000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`CREATE TABLE "device_heartbeat_windows" (
      "device_id" uuid NOT NULL,
      "high_sequence" bigint NOT NULL,
      "seen" bit(${HEARTBEAT_WINDOW_BITS}) NOT NULL,
      CONSTRAINT "pk_device_heartbeat_windows" PRIMARY KEY ("device_id"),
      CONSTRAINT "fk_device_heartbeat_windows_device" FOREIGN KEY ("device_id") REFERENCES "devices"("id") ON DELETE CASCADE
    )`);
    await queryRunner.query(SEED_WINDOWS_SQL);
    // Every device has its window from its creation on, so a heartbeat write always finds a row
    // committed before its snapshot and reads it locked, current (two first writes of one device
    // could not both see the other's otherwise).
    await queryRunner.query(`CREATE FUNCTION "xs_device_heartbeat_window"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO device_heartbeat_windows (device_id, high_sequence, seen)
  VALUES (NEW.id, COALESCE(NEW.last_sequence, 0), CASE WHEN NEW.last_sequence IS NULL THEN ${EMPTY} ELSE ${FULL} END);
  RETURN NULL;
END
$$`);
    await queryRunner.query(
      `CREATE TRIGGER "devices_heartbeat_window" AFTER INSERT ON "devices" FOR EACH ROW EXECUTE FUNCTION "xs_device_heartbeat_window"()`,
    );

    await queryRunner.query(`CREATE FUNCTION "ensure_day_partitions"(parent_table text, first_day date, days integer) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  day date;
  created integer := 0;
  name text;
BEGIN
  IF parent_table IS NULL OR parent_table NOT IN (${ALLOWED}) THEN
    RAISE EXCEPTION 'not a table partitioned by day: %', parent_table USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF days IS NULL OR days < 0 OR days > 400 THEN
    RAISE EXCEPTION 'days must be 0 to 400: %', days USING ERRCODE = 'invalid_parameter_value';
  END IF;
  FOR i IN 0 .. days - 1 LOOP
    day := first_day + i;
    name := parent_table || '_' || to_char(day, 'YYYYMMDD');
    IF to_regclass(format('public.%I', name)) IS NULL THEN
      EXECUTE format('CREATE TABLE public.%I PARTITION OF public.%I FOR VALUES FROM (%L) TO (%L)',
                     name, parent_table, day::timestamp AT TIME ZONE 'UTC', (day + 1)::timestamp AT TIME ZONE 'UTC');
      created := created + 1;
    END IF;
  END LOOP;
  RETURN created;
END
$$`);
    await queryRunner.query(`CREATE FUNCTION "drop_day_partition"(parent_table text, partition_name text) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  IF parent_table IS NULL OR parent_table NOT IN (${ALLOWED}) THEN
    RAISE EXCEPTION 'not a table partitioned by day: %', parent_table USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF partition_name IS NULL OR partition_name !~ ('^' || parent_table || '_[0-9]{8}$') THEN
    RAISE EXCEPTION 'not a % day partition: %', parent_table, partition_name USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF NOT EXISTS (SELECT FROM pg_inherits
                  WHERE inhrelid = to_regclass(format('public.%I', partition_name))
                    AND inhparent = to_regclass(format('public.%I', parent_table))) THEN
    RETURN false;
  END IF;
  EXECUTE format('DROP TABLE public.%I', partition_name);
  RETURN true;
END
$$`);
    for (const fn of ['"ensure_day_partitions"(text, date, integer)', '"drop_day_partition"(text, text)']) {
      await queryRunner.query(`REVOKE EXECUTE ON FUNCTION ${fn} FROM PUBLIC`);
      await queryRunner.query(`GRANT EXECUTE ON FUNCTION ${fn} TO ${APP_ROLE}`);
    }
    await queryRunner.query(`DROP FUNCTION "drop_metric_partition"(text)`);
    await queryRunner.query(`DROP FUNCTION "ensure_metric_partitions"(date, integer)`);

    await queryRunner.query(`ALTER TABLE "device_heartbeats" RENAME TO "device_heartbeats_unpartitioned"`);
    // No primary key: a unique key of a partitioned table must hold received_at, so it could no
    // longer make a replay a duplicate (the window does), and nothing reads the rows by key; the
    // key (device_id, sequence, received_at) doubled the bytes per day (api/bench/storage.mjs).
    // The app never deletes devices (they are retired), so the cascade's scan is not on a hot path.
    await queryRunner.query(`CREATE TABLE "device_heartbeats" (
      "device_id" uuid NOT NULL,
      "sequence" bigint NOT NULL,
      "sent_at" TIMESTAMP WITH TIME ZONE NOT NULL,
      "received_at" TIMESTAMP WITH TIME ZONE NOT NULL,
      "uptime_seconds" double precision NOT NULL,
      "agent_version" text NOT NULL,
      CONSTRAINT "fk_device_heartbeats_device" FOREIGN KEY ("device_id") REFERENCES "devices"("id") ON DELETE CASCADE
    ) PARTITION BY RANGE ("received_at")`);
    // The retained days and a week ahead (the worker keeps that up), then the retained rows.
    const firstDay = `(now() AT TIME ZONE 'UTC')::date - ${DEFAULT_HEARTBEAT_RETENTION_DAYS}`;
    await queryRunner.query(`SELECT "ensure_day_partitions"('device_heartbeats', ${firstDay}, ${DEFAULT_HEARTBEAT_RETENTION_DAYS + 9})`);
    await queryRunner.query(
      `INSERT INTO "device_heartbeats" (${COLUMNS}) SELECT ${COLUMNS} FROM "device_heartbeats_unpartitioned"
        WHERE "received_at" >= (${firstDay})::timestamp AT TIME ZONE 'UTC'
          AND "received_at" < (${firstDay} + ${DEFAULT_HEARTBEAT_RETENTION_DAYS + 9})::timestamp AT TIME ZONE 'UTC'`,
    );
    await queryRunner.query(`DROP TABLE "device_heartbeats_unpartitioned"`);
  }

  /** Back to one plain table; rows of dropped days stay gone, so their replays would be stored again. */
  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "device_heartbeats" RENAME TO "device_heartbeats_partitioned"`);
    await queryRunner.query(
      `CREATE TABLE "device_heartbeats" ("device_id" uuid NOT NULL, "sequence" bigint NOT NULL, "sent_at" TIMESTAMP WITH TIME ZONE NOT NULL, "received_at" TIMESTAMP WITH TIME ZONE NOT NULL, "uptime_seconds" double precision NOT NULL, "agent_version" text NOT NULL, CONSTRAINT "PK_80e0781afb4faf1b3fbbcad475e" PRIMARY KEY ("device_id", "sequence"))`,
    );
    await queryRunner.query(
      `INSERT INTO "device_heartbeats" (${COLUMNS}) SELECT ${COLUMNS} FROM "device_heartbeats_partitioned" ON CONFLICT DO NOTHING`,
    );
    await queryRunner.query(
      `ALTER TABLE "device_heartbeats" ADD CONSTRAINT "fk_device_heartbeats_device" FOREIGN KEY ("device_id") REFERENCES "devices"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(`DROP TABLE "device_heartbeats_partitioned"`);
    await queryRunner.query(`DROP TRIGGER "devices_heartbeat_window" ON "devices"`);
    await queryRunner.query(`DROP FUNCTION "xs_device_heartbeat_window"()`);
    await queryRunner.query(`DROP TABLE "device_heartbeat_windows"`);

    // The metric_samples pair as Telemetry and AppRole left it.
    await queryRunner.query(`CREATE FUNCTION "ensure_metric_partitions"(first_day date, days integer) RETURNS integer LANGUAGE plpgsql
SECURITY DEFINER SET search_path = public, pg_temp AS $$
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
    await queryRunner.query(`CREATE FUNCTION "drop_metric_partition"(partition_name text) RETURNS boolean LANGUAGE plpgsql
SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  IF partition_name !~ '^metric_samples_[0-9]{8}$' THEN
    RAISE EXCEPTION 'not a metric_samples day partition: %', partition_name USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF NOT EXISTS (SELECT FROM pg_inherits
                  WHERE inhrelid = to_regclass(format('public.%I', partition_name))
                    AND inhparent = 'public.metric_samples'::regclass) THEN
    RETURN false;
  END IF;
  EXECUTE format('DROP TABLE public.%I', partition_name);
  RETURN true;
END
$$`);
    for (const fn of ['"ensure_metric_partitions"(date, integer)', '"drop_metric_partition"(text)']) {
      await queryRunner.query(`REVOKE EXECUTE ON FUNCTION ${fn} FROM PUBLIC`);
      await queryRunner.query(`GRANT EXECUTE ON FUNCTION ${fn} TO ${APP_ROLE}`);
    }
    await queryRunner.query(`DROP FUNCTION "drop_day_partition"(text, text)`);
    await queryRunner.query(`DROP FUNCTION "ensure_day_partitions"(text, date, integer)`);
  }
}
