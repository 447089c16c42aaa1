import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { PoolClient } from 'pg';
import { QueryFailedError, type DataSource, type EntityManager, type QueryRunner } from 'typeorm';
import { requestContext, type RequestContext } from '../common/context/request-context.js';

/** The pool of agent requests and heartbeat group commits (the worker's is its only pool). */
export const DEVICE_DATA_SOURCE = Symbol('DEVICE_DATA_SOURCE');

/**
 * Hands repositories the right EntityManager: the current transaction when one is open in
 * this async flow (a mutating request's unit of work, so its audit row commits or rolls back
 * with it), else a pool: the devices' pool for a flow marked `dbLane: 'devices'` (an agent's
 * request, a heartbeat group commit), so operators' reads can never take the connections
 * ingestion waits for; the operators' pool otherwise.
 */
@Injectable()
export class Database {
  constructor(
    @InjectDataSource() readonly dataSource: DataSource,
    @Inject(DEVICE_DATA_SOURCE) private readonly deviceDataSource: DataSource,
  ) {}

  manager(): EntityManager {
    const ctx = requestContext.get();
    return ctx?.manager ?? this.pool(ctx).manager;
  }

  /** The current transaction's runner, or a new one on this flow's pool (the caller releases a new one). */
  queryRunner(): { runner: QueryRunner; owned: boolean } {
    const ctx = requestContext.get();
    const current = ctx?.manager?.queryRunner;
    return current ? { runner: current, owned: false } : { runner: this.pool(ctx).createQueryRunner(), owned: true };
  }

  /**
   * Runs `text` as a named prepared statement: parsed and planned once per connection, for a hot
   * statement whose planning costs as much as running it. One `name` must always carry the same
   * `text`. In the current transaction if one is open. Errors are TypeORM's QueryFailedError, as
   * from `manager.query`.
   */
  async prepared<T>(name: string, text: string, values: unknown[]): Promise<T[]> {
    const { runner, owned } = this.queryRunner();
    try {
      const client = (await runner.connect()) as PoolClient;
      return (await client.query<T & object>({ name, text, values })).rows;
    } catch (error) {
      throw error instanceof QueryFailedError ? error : new QueryFailedError(text, values, error as Error);
    } finally {
      if (owned) await runner.release();
    }
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

  private pool(ctx: RequestContext | undefined): DataSource {
    return ctx?.dbLane === 'devices' ? this.deviceDataSource : this.dataSource;
  }

  /**
   * Work registered with `requestContext.afterCommit` inside runs after this transaction commits
   * (or after the outer request's unit of work, when there is one): announcements read by other
   * instances, such as access changes, must see the committed state.
   */
  private async inNewTransaction<T>(fn: (manager: EntityManager) => Promise<T>): Promise<T> {
    const outer = requestContext.get();
    const own = outer?.afterCommit ? undefined : ([] as Array<() => Promise<void>>);
    const result = await this.pool(outer).transaction((manager) => {
      const inner: RequestContext = outer ? { ...outer, manager } : { requestId: 'internal', sourceIp: null, audit: {}, manager };
      if (own) inner.afterCommit = own;
      return requestContext.run(inner, () => fn(manager));
    });
    // Not awaited, as before a transaction of its own had a queue: the caller (a group commit) does not wait for them.
    for (const step of own ?? []) void step().catch(() => undefined);
    return result;
  }
}
