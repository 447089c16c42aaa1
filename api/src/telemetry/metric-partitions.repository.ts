import { Injectable } from '@nestjs/common';
import { Database } from '../db/database.js';

/** Serializes partition creation between the worker and API instances (CREATE TABLE would race). */
const PARTITIONS_LOCK_KEY = 0x5853_4d50; // "XSMP"
const PARTITION_NAME = /^metric_samples_(\d{4})(\d{2})(\d{2})$/;

/** Day partitions of metric_samples: created ahead of time, dropped after the retention. */
@Injectable()
export class MetricPartitionsRepository {
  constructor(private readonly db: Database) {}

  /** Creates the partitions from yesterday to `daysAhead` days ahead; returns how many were new. */
  async ensureAhead(daysAhead: number): Promise<number> {
    return this.db.transaction(async (manager) => {
      await manager.query('SELECT pg_advisory_xact_lock($1)', [PARTITIONS_LOCK_KEY]);
      const rows: Array<{ created: number }> = await manager.query(
        `SELECT ensure_metric_partitions((now() AT TIME ZONE 'UTC')::date - 1, $1) AS created`,
        [daysAhead + 2],
      );
      return rows[0]?.created ?? 0;
    });
  }

  /**
   * Creates the partitions of these UTC days (YYYY-MM-DD) if missing, in a transaction of its
   * own: a replayed journal may bring samples from days the worker has not prepared.
   */
  async ensureDays(days: string[]): Promise<void> {
    if (days.length === 0) return;
    await this.db.detached(async (manager) => {
      await manager.query('SELECT pg_advisory_xact_lock($1)', [PARTITIONS_LOCK_KEY]);
      await manager.query('SELECT ensure_metric_partitions(day::date, 1) FROM unnest($1::text[]) AS day', [days]);
    });
  }

  /** Drops whole days older than the retention (dropping a partition is instant, unlike DELETE). */
  async dropOlderThan(cutoff: Date): Promise<string[]> {
    const rows: Array<{ name: string }> = await this.db.manager().query(
      `SELECT c.relname AS name FROM pg_inherits i
         JOIN pg_class c ON c.oid = i.inhrelid
         JOIN pg_class p ON p.oid = i.inhparent
        WHERE p.relname = 'metric_samples'`,
    );
    const dropped: string[] = [];
    for (const { name } of rows) {
      const m = PARTITION_NAME.exec(name);
      if (!m) continue;
      const dayEnd = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]) + 1));
      if (dayEnd > cutoff) continue;
      // The API's role does not own the partitions: a function of the owner drops them (db/migrations/*AppRole*).
      await this.db.manager().query('SELECT drop_metric_partition($1)', [name]);
      dropped.push(name);
    }
    return dropped;
  }
}
