import { Injectable } from '@nestjs/common';
import { Database } from '../db/database.js';
import { ScriptVersionEntity } from './script-version.entity.js';
import { ScriptEntity } from './script.entity.js';

export interface ScriptFilter {
  archived?: boolean;
  limit: number;
  offset: number;
}

/** A script as listed: every column but the content. */
export type ScriptRow = Omit<ScriptEntity, 'content'>;

export type ScriptChanges = Pick<
  ScriptEntity,
  'name' | 'description' | 'interpreter' | 'content' | 'sha256' | 'sizeBytes' | 'timeoutSeconds' | 'updatedBy' | 'updatedAt'
>;

const SUMMARY_COLUMNS: Array<keyof ScriptRow> = [
  'id',
  'name',
  'description',
  'interpreter',
  'sha256',
  'sizeBytes',
  'timeoutSeconds',
  'archivedAt',
  'lastQueuedAt',
  'createdBy',
  'createdAt',
  'updatedBy',
  'updatedAt',
];

@Injectable()
export class ScriptsRepository {
  constructor(private readonly db: Database) {}

  private scripts() {
    return this.db.manager().getRepository(ScriptEntity);
  }

  private versions() {
    return this.db.manager().getRepository(ScriptVersionEntity);
  }

  async list(filter: ScriptFilter): Promise<{ items: ScriptRow[]; total: number }> {
    const qb = this.scripts()
      .createQueryBuilder('s')
      .select(SUMMARY_COLUMNS.map((c) => `s.${c}`));
    if (filter.archived === true) qb.where('s.archived_at IS NOT NULL');
    if (filter.archived === false) qb.where('s.archived_at IS NULL');
    const [items, total] = await qb
      .orderBy('lower(s.name)', 'ASC')
      .addOrderBy('s.id', 'ASC')
      .take(filter.limit)
      .skip(filter.offset)
      .getManyAndCount();
    return { items, total };
  }

  findById(id: string): Promise<ScriptEntity | null> {
    return this.scripts().findOne({ where: { id } });
  }

  /** Locked until the request's transaction ends: an edit, a delete and a queue of one script take turns. */
  findByIdLocked(id: string): Promise<ScriptEntity | null> {
    return this.scripts().createQueryBuilder('s').where('s.id = :id', { id }).setLock('pessimistic_write').getOne();
  }

  async insert(script: ScriptEntity): Promise<void> {
    await this.scripts().insert(script);
  }

  async update(id: string, changes: ScriptChanges): Promise<void> {
    await this.scripts().update({ id }, changes);
  }

  /** Keeps a content version (the same content again is the same version). */
  async keepVersion(version: ScriptVersionEntity): Promise<void> {
    await this.versions().createQueryBuilder().insert().values(version).orIgnore().execute();
  }

  findVersion(scriptId: string, sha256: string): Promise<ScriptVersionEntity | null> {
    return this.versions().findOne({ where: { scriptId, sha256 } });
  }

  async markQueued(id: string, at: Date): Promise<void> {
    await this.scripts().update({ id }, { lastQueuedAt: at });
  }

  async archive(id: string, at: Date, by: string): Promise<void> {
    await this.scripts().update({ id }, { archivedAt: at, updatedAt: at, updatedBy: by });
  }

  /** Removes the script and (cascade) its versions. */
  async delete(id: string): Promise<void> {
    await this.scripts().delete({ id });
  }
}
