import type { Database } from './database.js';

/** The allow-list of the partition functions (db/migrations/1795580000000-HeartbeatRetention.ts). */
export type DayPartitionedTable = 'metric_samples' | 'device_heartbeats';

/**
 * The day partitions of one table partitioned by UTC day (`<table>_YYYYMMDD`), through the owner's
 * functions ensure_day_partitions / drop_day_partition (db/migrations/*HeartbeatRetention*): the
 * API's role owns no table. Each table's repository holds one, with its own advisory lock key.
 */
export class DayPartitions {
  private readonly name: RegExp;

  constructor(
    private readonly db: Database,
    private readonly table: DayPartitionedTable,
    /** Serializes creation between the worker and API instances (CREATE TABLE would race). */
    private readonly lockKey: number,
  ) {
    this.name = new RegExp(`^${table}_(\\d{4})(\\d{2})(\\d{2})$`);
  }

  /** Creates the partitions from yesterday to `daysAhead` days ahead; returns how many were new. */
  ensureAhead(daysAhead: number): Promise<number> {
    return this.db.transaction(async (manager) => {
      await manager.query('SELECT pg_advisory_xact_lock($1)', [this.lockKey]);
      const rows: Array<{ created: number }> = await manager.query(
        `SELECT ensure_day_partitions($1, (now() AT TIME ZONE 'UTC')::date - 1, $2) AS created`,
        [this.table, daysAhead + 2],
      );
      return rows[0]?.created ?? 0;
    });
  }

  /** Creates the partitions of these UTC days (YYYY-MM-DD) if missing, in a transaction of its own. */
  async ensureDays(days: string[]): Promise<void> {
    if (days.length === 0) return;
    await this.db.detached(async (manager) => {
      await manager.query('SELECT pg_advisory_xact_lock($1)', [this.lockKey]);
      await manager.query('SELECT ensure_day_partitions($1, day::date, 1) FROM unnest($2::text[]) AS day', [this.table, days]);
    });
  }

  /** Drops whole days that ended at or before `cutoff` (dropping a partition is instant, unlike DELETE); returns their names. */
  async dropOlderThan(cutoff: Date): Promise<string[]> {
    const rows: Array<{ name: string }> = await this.db.manager().query(
      `SELECT c.relname AS name FROM pg_inherits i
         JOIN pg_class c ON c.oid = i.inhrelid
         JOIN pg_class p ON p.oid = i.inhparent
        WHERE p.relname = $1
        ORDER BY c.relname`,
      [this.table],
    );
    const dropped: string[] = [];
    for (const { name } of rows) {
      const m = this.name.exec(name);
      if (!m) continue;
      const dayEnd = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]) + 1));
      if (dayEnd > cutoff) continue;
      await this.db.manager().query('SELECT drop_day_partition($1, $2)', [this.table, name]);
      dropped.push(name);
    }
    return dropped;
  }
}
