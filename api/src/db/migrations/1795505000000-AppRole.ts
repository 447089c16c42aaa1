import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The API and the worker connect as `xspectre_api`, a role that owns nothing: only the owner of
 * audit_events could disable or drop its append-only triggers, so the application cannot. It
 * gets data privileges only, and on audit_events SELECT and INSERT. Migrations keep running as
 * the owner (DB_OWNER_URL). Roles are cluster-wide and shared by every database of the cluster
 * (test databases too): creating it tolerates a concurrent creation; grants are per database.
 */
export const APP_ROLE = 'xspectre_api';

export class AppRole1795505000000 implements MigrationInterface {
  name = 'AppRole1795505000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    // No password here: development clusters trust loopback; elsewhere set one (api/README.md).
    await queryRunner.query(`DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${APP_ROLE}') THEN
    BEGIN
      CREATE ROLE ${APP_ROLE} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT;
    EXCEPTION
      WHEN duplicate_object OR unique_violation THEN
        NULL; -- another database's migration created it meanwhile
      WHEN insufficient_privilege THEN
        RAISE EXCEPTION 'the migrating role may not create roles: create it first (CREATE ROLE ${APP_ROLE} LOGIN PASSWORD ...)';
    END;
  END IF;
  EXECUTE format('GRANT CONNECT ON DATABASE %I TO ${APP_ROLE}', current_database());
END
$$`);
    await queryRunner.query(`GRANT USAGE ON SCHEMA public TO ${APP_ROLE}`);
    await queryRunner.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ${APP_ROLE}`);
    await queryRunner.query(`GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO ${APP_ROLE}`);
    await queryRunner.query(`REVOKE UPDATE, DELETE ON "audit_events" FROM ${APP_ROLE}`);
    await queryRunner.query(`REVOKE INSERT, UPDATE, DELETE ON "schema_migrations" FROM ${APP_ROLE}`);
    // Tables of later migrations get the same data privileges (audit-like tables must revoke theirs).
    await queryRunner.query(`ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO ${APP_ROLE}`);
    await queryRunner.query(`ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO ${APP_ROLE}`);

    // Day partitions of metric_samples need its owner to create and drop them: two narrow
    // functions run as the owner (SECURITY DEFINER, fixed search_path), callable by the app only.
    await queryRunner.query(`ALTER FUNCTION "ensure_metric_partitions"(date, integer) SECURITY DEFINER SET search_path = public, pg_temp`);
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
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    // The role stays: it is cluster-wide and other databases may still use it.
    await queryRunner.query(`DROP FUNCTION "drop_metric_partition"(text)`);
    await queryRunner.query(`GRANT EXECUTE ON FUNCTION "ensure_metric_partitions"(date, integer) TO PUBLIC`);
    await queryRunner.query(`ALTER FUNCTION "ensure_metric_partitions"(date, integer) SECURITY INVOKER RESET search_path`);
    await queryRunner.query(`ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON SEQUENCES FROM ${APP_ROLE}`);
    await queryRunner.query(`ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON TABLES FROM ${APP_ROLE}`);
    await queryRunner.query(`REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM ${APP_ROLE}`);
    await queryRunner.query(`REVOKE ALL ON ALL TABLES IN SCHEMA public FROM ${APP_ROLE}`);
    await queryRunner.query(`REVOKE ALL ON ALL FUNCTIONS IN SCHEMA public FROM ${APP_ROLE}`);
    await queryRunner.query(`REVOKE USAGE ON SCHEMA public FROM ${APP_ROLE}`);
    await queryRunner.query(`DO $$ BEGIN EXECUTE format('REVOKE CONNECT ON DATABASE %I FROM ${APP_ROLE}', current_database()); END $$`);
  }
}
