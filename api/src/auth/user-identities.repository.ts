import { Injectable } from '@nestjs/common';
import { In } from 'typeorm';
import { Database } from '../db/database.js';
import { UserIdentityEntity } from './user-identity.entity.js';

@Injectable()
export class UserIdentitiesRepository {
  constructor(private readonly db: Database) {}

  private repo() {
    return this.db.manager().getRepository(UserIdentityEntity);
  }

  findBySubject(providerId: string, subject: string): Promise<UserIdentityEntity | null> {
    return this.repo().findOne({ where: { providerId, subject } });
  }

  findForUser(userId: string, providerId: string): Promise<UserIdentityEntity | null> {
    return this.repo().findOne({ where: { userId, providerId } });
  }

  listForUsers(userIds: string[]): Promise<UserIdentityEntity[]> {
    if (userIds.length === 0) return Promise.resolve([]);
    return this.repo().find({ where: { userId: In(userIds) }, order: { createdAt: 'ASC' } });
  }

  insert(values: Pick<UserIdentityEntity, 'userId' | 'providerId' | 'subject' | 'email'>): Promise<UserIdentityEntity> {
    return this.repo().save(this.repo().create({ ...values, lastLoginAt: null }));
  }

  async touchLogin(id: string, email: string | null, at: Date): Promise<void> {
    await this.repo().update({ id }, { email, lastLoginAt: at });
  }

  /** True when the identity existed and belonged to the user. */
  async delete(userId: string, identityId: string): Promise<boolean> {
    const result = await this.repo().delete({ id: identityId, userId });
    return (result.affected ?? 0) > 0;
  }
}
