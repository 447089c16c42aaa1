import { Injectable } from '@nestjs/common';
import type { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity.js';
import { Database } from '../db/database.js';
import { IdentityProviderEntity } from './identity-provider.entity.js';

export type IdentityProviderChanges = Partial<
  Pick<
    IdentityProviderEntity,
    'name' | 'preset' | 'enabled' | 'allowedEmailDomains' | 'roleRules' | 'sessionMaxSeconds' | 'settings' | 'clientSecretSealed'
  >
>;

export type NewIdentityProvider = Omit<IdentityProviderEntity, 'id' | 'createdAt' | 'updatedAt'>;

@Injectable()
export class IdentityProvidersRepository {
  constructor(private readonly db: Database) {}

  private providers() {
    return this.db.manager().getRepository(IdentityProviderEntity);
  }

  list(): Promise<IdentityProviderEntity[]> {
    return this.providers().createQueryBuilder('p').orderBy('lower(p.name)', 'ASC').addOrderBy('p.id', 'ASC').getMany();
  }

  listEnabled(): Promise<IdentityProviderEntity[]> {
    return this.providers().createQueryBuilder('p').where('p.enabled').orderBy('lower(p.name)', 'ASC').getMany();
  }

  countEnabled(): Promise<number> {
    return this.providers().count({ where: { enabled: true } });
  }

  findById(id: string): Promise<IdentityProviderEntity | null> {
    return this.providers().findOne({ where: { id } });
  }

  /** Locked until the request's transaction ends: two edits of one provider take turns. */
  findByIdLocked(id: string): Promise<IdentityProviderEntity | null> {
    return this.providers().createQueryBuilder('p').where('p.id = :id', { id }).setLock('pessimistic_write').getOne();
  }

  async insert(values: NewIdentityProvider): Promise<IdentityProviderEntity> {
    // The jsonb columns are beyond TypeORM's deep-partial typing.
    const result = await this.providers().insert(values as QueryDeepPartialEntity<IdentityProviderEntity>);
    const id = (result.identifiers[0] as { id: string }).id;
    return (await this.findById(id))!;
  }

  async update(id: string, changes: IdentityProviderChanges): Promise<void> {
    await this.providers().update({ id }, changes as QueryDeepPartialEntity<IdentityProviderEntity>);
  }

  /** Removes the provider and (cascade) its linked identities and its sessions. */
  async delete(id: string): Promise<void> {
    await this.providers().delete({ id });
  }
}
