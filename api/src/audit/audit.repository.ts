import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { ListAuditQuery } from '@xspectre/contracts';
import { Database } from '../db/database.js';
import { AuditEventEntity } from './audit-event.entity.js';
import { AuditVerificationEntity } from './audit-verification.entity.js';

/** An advisory lock key that serializes appends, so each row links to the one before it. */
const CHAIN_LOCK_KEY = 0x5853_4155; // "XSAU"

export type AuditFilter = ListAuditQuery;

@Injectable()
export class AuditRepository {
  constructor(private readonly db: Database) {}

  /** Must run inside a transaction: the lock is held until it commits. */
  async lockChainAndReadTail(manager: EntityManager): Promise<{ id: string; hash: string } | null> {
    await manager.query('SELECT pg_advisory_xact_lock($1)', [CHAIN_LOCK_KEY]);
    const rows: Array<{ id: string; hash: string }> = await manager.query('SELECT id, hash FROM audit_events ORDER BY id DESC LIMIT 1');
    return rows[0] ?? null;
  }

  async insert(manager: EntityManager, row: AuditEventEntity): Promise<void> {
    // jsonb details defeat TypeORM's deep-partial typing; the row is complete by construction.
    await manager
      .getRepository(AuditEventEntity)
      .insert(row as unknown as Parameters<ReturnType<EntityManager['getRepository']>['insert']>[0]);
  }

  /**
   * A newest-first page (rows below `filter.cursor`, then `offset` skipped) and, when the filter
   * names anything, the number of matching rows counted up to `countCap + 1` at most. One row
   * more than the page is read to tell whether an older page exists.
   */
  async list(
    filter: AuditFilter,
    countCap: number,
  ): Promise<{ items: AuditEventEntity[]; more: boolean; filteredTotal: number | null; headId: number | null }> {
    const qb = this.db.manager().getRepository(AuditEventEntity).createQueryBuilder('a');
    let filtered = false;
    const where = (sql: string, params: Record<string, unknown>) => {
      qb.andWhere(sql, params);
      filtered = true;
    };
    if (filter.userId) where('a.user_id = :userId', { userId: filter.userId });
    if (filter.action) where('a.action = :action', { action: filter.action });
    if (filter.resourceType) where('a.resource_type = :resourceType', { resourceType: filter.resourceType });
    if (filter.resourceId) where('a.resource_id = :resourceId', { resourceId: filter.resourceId });
    if (filter.result) where('a.result = :result', { result: filter.result });
    if (filter.from) where('a.occurred_at >= :from', { from: new Date(filter.from) });
    if (filter.to) where('a.occurred_at < :to', { to: new Date(filter.to) });
    let filteredTotal: number | null = null;
    if (filtered) {
      // Bounded: a broad filter over millions of rows stops counting at the cap.
      const [sql, params] = qb
        .clone()
        .select('1')
        .limit(countCap + 1)
        .getQueryAndParameters();
      const rows: Array<{ n: number }> = await this.db.manager().query(`SELECT count(*)::int AS n FROM (${sql}) capped`, params);
      filteredTotal = rows[0]?.n ?? 0;
    }
    if (filter.cursor) qb.andWhere('a.id < :cursor', { cursor: filter.cursor });
    let offset = filter.offset;
    let headId: number | null = null;
    if (!filtered) {
      headId = Number((await this.head())?.id ?? 0);
      if (!filter.cursor && offset > 0) {
        // Ids are gap-free and rows are never deleted (audit-event.entity.ts): the row `offset` below
        // the head is the id `offset` below it, so a deep page is a range scan, not a walk over `offset` rows.
        qb.andWhere('a.id <= :top', { top: String(headId - offset) });
        offset = 0;
      }
    }
    const rows = await qb
      .orderBy('a.id', 'DESC')
      .offset(offset)
      .limit(filter.limit + 1)
      .getMany();
    return { items: rows.slice(0, filter.limit), more: rows.length > filter.limit, filteredTotal, headId };
  }

  /** The row at `id`, or null. */
  rowAt(id: string): Promise<AuditEventEntity | null> {
    return this.db.manager().getRepository(AuditEventEntity).findOneBy({ id });
  }

  recordVerification(row: Omit<AuditVerificationEntity, 'id'>): Promise<unknown> {
    return this.db.manager().getRepository(AuditVerificationEntity).insert(row);
  }

  /** The newest recorded verification (intact or not). */
  latestVerification(): Promise<AuditVerificationEntity | null> {
    return this.db
      .manager()
      .getRepository(AuditVerificationEntity)
      .findOne({ where: {}, order: { id: 'DESC' } });
  }

  /** The newest recorded verifications, newest first (the caller takes the first correctly signed one). */
  recentVerifications(count: number): Promise<AuditVerificationEntity[]> {
    return this.db
      .manager()
      .getRepository(AuditVerificationEntity)
      .find({ order: { id: 'DESC' }, take: count });
  }

  /** Rows in chain order after `afterId`, a page at a time (verification reads the whole table). */
  readChainPage(afterId: string, size: number): Promise<AuditEventEntity[]> {
    return this.db
      .manager()
      .getRepository(AuditEventEntity)
      .createQueryBuilder('a')
      .where('a.id > :afterId', { afterId })
      .orderBy('a.id', 'ASC')
      .take(size)
      .getMany();
  }

  /** The database's name: checkpoints name the installation's database they anchor. */
  async databaseName(): Promise<string> {
    const rows: Array<{ name: string }> = await this.db.manager().query('SELECT current_database() AS name');
    return rows[0]!.name;
  }

  /** The newest row (no lock: a checkpoint of a committed head). */
  async head(): Promise<{ id: string; hash: string } | null> {
    const rows: Array<{ id: string; hash: string }> = await this.db
      .manager()
      .query('SELECT a.id::text AS id, a.hash FROM audit_events a ORDER BY a.id DESC LIMIT 1');
    return rows[0] ?? null;
  }

  async hashAt(id: string): Promise<string | null> {
    const rows: Array<{ hash: string }> = await this.db.manager().query('SELECT hash FROM audit_events WHERE id = $1', [id]);
    return rows[0]?.hash ?? null;
  }

  /** Whether this connection's role could disable or drop the append-only triggers (superuser, or owner of the table). */
  async roleCanRewriteTrail(): Promise<boolean> {
    const rows: Array<{ can: boolean }> = await this.db.manager().query(
      `SELECT r.rolsuper OR pg_has_role(current_user, c.relowner, 'USAGE') AS can
         FROM pg_roles r, pg_class c
        WHERE r.rolname = current_user AND c.oid = 'audit_events'::regclass`,
    );
    return rows[0]?.can ?? false;
  }
}
