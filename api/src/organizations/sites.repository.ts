import { Injectable } from '@nestjs/common';
import { Database } from '../db/database.js';
import { likePattern } from '../db/pg-errors.js';
import { SiteEntity } from './site.entity.js';

export type SiteRow = SiteEntity & { deviceCount: number };

@Injectable()
export class SitesRepository {
  constructor(private readonly db: Database) {}

  private repo() {
    return this.db.manager().getRepository(SiteEntity);
  }

  // The devices table by name, not by entity: organizations sit below the devices feature.
  private withDeviceCount() {
    return this.repo().createQueryBuilder('s').addSelect('(SELECT COUNT(*)::int FROM devices d WHERE d.site_id = s.id)', 'device_count');
  }

  private static attachCount(entities: SiteEntity[], raw: Array<{ device_count: number }>): SiteRow[] {
    return entities.map((site, i) => Object.assign(site, { deviceCount: Number(raw[i]!.device_count) }));
  }

  async findById(id: string): Promise<SiteRow | null> {
    const { entities, raw } = await this.withDeviceCount().where('s.id = :id', { id }).getRawAndEntities();
    return SitesRepository.attachCount(entities, raw)[0] ?? null;
  }

  async list(filter: { organizationId?: string; q?: string; limit: number; offset: number }): Promise<{ items: SiteRow[]; total: number }> {
    const qb = this.withDeviceCount().orderBy('s.name', 'ASC').addOrderBy('s.id', 'ASC').limit(filter.limit).offset(filter.offset);
    if (filter.organizationId) qb.andWhere('s.organization_id = :organizationId', { organizationId: filter.organizationId });
    if (filter.q) qb.andWhere(`s.name ILIKE :q ESCAPE '\\'`, { q: likePattern(filter.q) });
    const [{ entities, raw }, total] = await Promise.all([qb.getRawAndEntities(), qb.getCount()]);
    return { items: SitesRepository.attachCount(entities, raw), total };
  }

  async insert(values: { organizationId: string; name: string; timeZone: string }): Promise<SiteRow> {
    const site = await this.repo().save(this.repo().create(values));
    return Object.assign(site, { deviceCount: 0 });
  }

  async update(id: string, values: { name?: string; timeZone?: string }): Promise<void> {
    await this.repo().update({ id }, values);
  }

  async delete(id: string): Promise<void> {
    await this.repo().delete({ id });
  }
}
