import { Injectable } from '@nestjs/common';
import { Database } from '../db/database.js';
import { ServiceCredentialEntity } from './service-credential.entity.js';

@Injectable()
export class ServiceCredentialsRepository {
  constructor(private readonly db: Database) {}

  private credentials() {
    return this.db.manager().getRepository(ServiceCredentialEntity);
  }

  async insert(row: ServiceCredentialEntity): Promise<void> {
    await this.credentials().insert(row);
  }

  list(): Promise<ServiceCredentialEntity[]> {
    return this.credentials().find({ order: { createdAt: 'ASC', id: 'ASC' } });
  }

  find(id: string): Promise<ServiceCredentialEntity | null> {
    return this.credentials().findOneBy({ id });
  }

  findBySecretHash(secretHash: string): Promise<ServiceCredentialEntity | null> {
    return this.credentials().findOneBy({ secretHash });
  }

  async revoke(id: string, at: Date): Promise<void> {
    await this.credentials().update({ id }, { revokedAt: at });
  }

  /** At most once a minute per credential: a report every few seconds must not turn into a write each. */
  async touch(id: string, at: Date): Promise<void> {
    await this.db
      .manager()
      .query(
        `UPDATE service_credentials SET last_used_at = $2 WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $2::timestamptz - interval '1 minute')`,
        [id, at],
      );
  }
}
