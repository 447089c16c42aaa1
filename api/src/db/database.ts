import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource, EntityManager } from 'typeorm';
import { requestContext, type RequestContext } from '../common/context/request-context.js';

/**
 * Hands repositories the right EntityManager: the current transaction when one is open in
 * this async flow (a mutating request's unit of work, so its audit row commits or rolls back
 * with it), else the pool.
 */
@Injectable()
export class Database {
  constructor(@InjectDataSource() readonly dataSource: DataSource) {}

  manager(): EntityManager {
    return requestContext.get()?.manager ?? this.dataSource.manager;
  }

  /** Rows of a SELECT (or INSERT … RETURNING) in the current transaction, else on the pool. */
  rows<T>(sql: string, params: unknown[] = []): Promise<T[]> {
    return this.manager().query(sql, params) as Promise<T[]>;
  }

  /** Rows of an UPDATE or DELETE … RETURNING: TypeORM answers those as [rows, affected count]. */
  async changedRows<T>(sql: string, params: unknown[] = []): Promise<T[]> {
    const [rows] = (await this.manager().query(sql, params)) as [T[], number];
    return rows;
  }

  /** Joins the current transaction, or opens one for `fn` and everything it calls. */
  transaction<T>(fn: (manager: EntityManager) => Promise<T>): Promise<T> {
    const current = requestContext.get()?.manager;
    if (current?.queryRunner?.isTransactionActive) return fn(current);
    return this.inNewTransaction(fn);
  }

  /** A transaction of its own, outside any request transaction: for records that must outlive its rollback. */
  detached<T>(fn: (manager: EntityManager) => Promise<T>): Promise<T> {
    return this.inNewTransaction(fn);
  }

  private inNewTransaction<T>(fn: (manager: EntityManager) => Promise<T>): Promise<T> {
    const outer = requestContext.get();
    return this.dataSource.transaction((manager) => {
      const inner: RequestContext = outer ? { ...outer, manager } : { requestId: 'internal', sourceIp: null, audit: {}, manager };
      return requestContext.run(inner, () => fn(manager));
    });
  }
}
