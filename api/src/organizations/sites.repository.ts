import { Injectable } from '@nestjs/common';
import { Database } from '../db/database.js';
import { likePattern } from '../db/pg-errors.js';
import { SiteEntity } from './site.entity.js';

@Injectable()
export class SitesRepository {
  constructor(private readonly db: Database) {}

  private repo() {
    return this.db.manager().getRepository(SiteEntity);
  }

  findById(id: string): Promise<SiteEntity | null> {
    return this.repo().findOne({ where: { id } });
  }

  async list(filter: {
    organizationId?: string;
    q?: string;
    limit: number;
    offset: number;
  }): Promise<{ items: SiteEntity[]; total: number }> {
    const qb = this.repo().createQueryBuilder('s').orderBy('s.name', 'ASC').take(filter.limit).skip(filter.offset);
    if (filter.organizationId) qb.andWhere('s.organization_id = :organizationId', { organizationId: filter.organizationId });
    if (filter.q) qb.andWhere(`s.name ILIKE :q ESCAPE '\\'`, { q: likePattern(filter.q) });
    const [items, total] = await qb.getManyAndCount();
    return { items, total };
  }

  insert(values: { organizationId: string; name: string; timeZone: string }): Promise<SiteEntity> {
    return this.repo().save(this.repo().create(values));
  }

  async update(id: string, values: { name?: string; timeZone?: string }): Promise<void> {
    await this.repo().update({ id }, values);
  }

  async delete(id: string): Promise<void> {
    await this.repo().delete({ id });
  }
}
