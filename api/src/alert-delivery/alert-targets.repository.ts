import { Injectable } from '@nestjs/common';
import type { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity.js';
import { Database } from '../db/database.js';
import { AlertTargetEntity } from './alert-target.entity.js';

export type AlertTargetChanges = Partial<
  Pick<AlertTargetEntity, 'name' | 'enabled' | 'routing' | 'allowPrivateAddress' | 'config' | 'secretSealed' | 'secretHint' | 'updatedAt'>
>;

@Injectable()
export class AlertTargetsRepository {
  constructor(private readonly db: Database) {}

  private targets() {
    return this.db.manager().getRepository(AlertTargetEntity);
  }

  list(): Promise<AlertTargetEntity[]> {
    return this.targets().createQueryBuilder('t').orderBy('lower(t.name)', 'ASC').addOrderBy('t.id', 'ASC').getMany();
  }

  /** Enabled targets: the routing of a new alert is decided among them (a handful of rows). */
  listEnabled(): Promise<AlertTargetEntity[]> {
    return this.targets().find({ where: { enabled: true } });
  }

  findById(id: string): Promise<AlertTargetEntity | null> {
    return this.targets().findOne({ where: { id } });
  }

  /** Locked until the request's transaction ends: two edits of one target take turns. */
  findByIdLocked(id: string): Promise<AlertTargetEntity | null> {
    return this.targets().createQueryBuilder('t').where('t.id = :id', { id }).setLock('pessimistic_write').getOne();
  }

  findByIds(ids: string[]): Promise<AlertTargetEntity[]> {
    if (ids.length === 0) return Promise.resolve([]);
    return this.targets().createQueryBuilder('t').where('t.id IN (:...ids)', { ids }).getMany();
  }

  async insert(target: AlertTargetEntity): Promise<void> {
    // The jsonb config (Record<string, unknown>) is beyond TypeORM's deep-partial typing.
    await this.targets().insert(target as QueryDeepPartialEntity<AlertTargetEntity>);
  }

  async update(id: string, changes: AlertTargetChanges): Promise<void> {
    await this.targets().update({ id }, changes as QueryDeepPartialEntity<AlertTargetEntity>);
  }

  /** Removes the target and (cascade) its deliveries. */
  async delete(id: string): Promise<void> {
    await this.targets().delete({ id });
  }
}
