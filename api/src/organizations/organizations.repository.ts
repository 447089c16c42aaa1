import { Injectable } from '@nestjs/common';
import type { OrganizationKind } from '@xspectre/contracts';
import { Database } from '../db/database.js';
import { likePattern } from '../db/pg-errors.js';
import { OrganizationEntity } from './organization.entity.js';
import { SiteEntity } from './site.entity.js';

export type OrganizationRow = OrganizationEntity & { siteCount: number };

@Injectable()
export class OrganizationsRepository {
  constructor(private readonly db: Database) {}

  private repo() {
    return this.db.manager().getRepository(OrganizationEntity);
  }

  async findById(id: string): Promise<OrganizationRow | null> {
    const org = await this.repo().findOne({ where: { id } });
    if (!org) return null;
    const siteCount = await this.db
      .manager()
      .getRepository(SiteEntity)
      .count({ where: { organizationId: id } });
    return Object.assign(org, { siteCount });
  }

  async list(filter: {
    kind?: OrganizationKind;
    q?: string;
    limit: number;
    offset: number;
  }): Promise<{ items: OrganizationRow[]; total: number }> {
    const qb = this.repo()
      .createQueryBuilder('o')
      .addSelect((sub) => sub.select('COUNT(*)::int').from(SiteEntity, 's').where('s.organization_id = o.id'), 'site_count')
      .orderBy('o.name', 'ASC')
      .limit(filter.limit)
      .offset(filter.offset);
    if (filter.kind) qb.andWhere('o.kind = :kind', { kind: filter.kind });
    if (filter.q) qb.andWhere(`o.name ILIKE :q ESCAPE '\\'`, { q: likePattern(filter.q) });
    const [{ entities, raw }, total] = await Promise.all([qb.getRawAndEntities(), qb.getCount()]);
    const items = entities.map((org, i) => Object.assign(org, { siteCount: Number((raw[i] as { site_count: number }).site_count) }));
    return { items, total };
  }

  insert(values: { name: string; kind: OrganizationKind }): Promise<OrganizationEntity> {
    return this.repo().save(this.repo().create(values));
  }

  async rename(id: string, name: string): Promise<void> {
    await this.repo().update({ id }, { name });
  }

  async delete(id: string): Promise<void> {
    await this.repo().delete({ id });
  }
}
