import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { ListAuditQuery } from '@xspectre/contracts';
import { Database } from '../db/database.js';
import { AuditEventEntity } from './audit-event.entity.js';

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

  async list(filter: AuditFilter): Promise<{ items: AuditEventEntity[]; total: number }> {
    const qb = this.db.manager().getRepository(AuditEventEntity).createQueryBuilder('a').orderBy('a.id', 'DESC');
    if (filter.userId) qb.andWhere('a.user_id = :userId', { userId: filter.userId });
    if (filter.action) qb.andWhere('a.action = :action', { action: filter.action });
    if (filter.resourceType) qb.andWhere('a.resource_type = :resourceType', { resourceType: filter.resourceType });
    if (filter.resourceId) qb.andWhere('a.resource_id = :resourceId', { resourceId: filter.resourceId });
    if (filter.result) qb.andWhere('a.result = :result', { result: filter.result });
    if (filter.from) qb.andWhere('a.occurred_at >= :from', { from: new Date(filter.from) });
    if (filter.to) qb.andWhere('a.occurred_at < :to', { to: new Date(filter.to) });
    const [items, total] = await qb.take(filter.limit).skip(filter.offset).getManyAndCount();
    return { items, total };
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
